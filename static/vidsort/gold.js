// Gold standards from the gallery (docs/team.md): a reviewer marks a filed video as gold
// with its folder, or takes the mark off. Labellers meet gold videos hidden in batches.

import { api } from "./http.js";
import { toast } from "./toast.js";

let gold = new Set();

// The library's gold videos, once per page load.
export async function loadGold(library) {
  const data = await api("GET", `/api/gold?library=${encodeURIComponent(library)}`);
  gold = new Set((data.gold || []).map((g) => g.video));
  return gold;
}

function paint(button, on) {
  button.classList.toggle("on", on);
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? "★ Gold" : "☆ Gold";
}

// A toggle for a video in a folder: gold with that folder, or not gold.
export function goldButton(video, library) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "small gold-toggle";
  button.dataset.video = video.id;
  button.title = `Gold standard: ${video.filename} belongs in ${video.folder}`;
  paint(button, gold.has(video.id));
  button.addEventListener("click", async () => {
    const on = gold.has(video.id);
    button.disabled = true;
    try {
      if (on) {
        await api("DELETE", `/api/gold/${video.id}?library=${encodeURIComponent(library)}`);
        gold.delete(video.id);
      } else {
        await api("POST", "/api/gold", { video: video.id, folder: video.folder_id, library });
        gold.add(video.id);
      }
      paint(button, !on);
    } catch (err) {
      toast(`Could not change the gold mark of ${video.filename}: ${err.message}`, { level: "error" });
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
