// The duplicates page: GET /api/duplicates, keep one per group, POST /api/duplicates/resolve.
// The moves are journalled sorts: "Undo" calls POST /api/undo for each, newest first.

import { api } from "./http.js";
import { toast } from "./toast.js";

const cfg = JSON.parse(document.getElementById("duplicates-config").textContent);
const $ = (id) => document.getElementById(id);

function size(bytes) {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

function tile(video, group, first) {
  const div = document.createElement("label");
  div.className = "tile";
  const v = document.createElement("video");
  v.muted = true; v.preload = "metadata"; v.playsInline = true;
  v.src = video.url + "#t=0.1";
  v.addEventListener("mouseenter", () => v.play().catch(() => {}));
  v.addEventListener("mouseleave", () => v.pause());
  const pick = document.createElement("input");
  pick.type = "radio"; pick.name = `keep-${group.index}`; pick.value = video.id; pick.checked = first;
  const meta = document.createElement("span");
  meta.className = "meta";
  const res = video.width && video.height ? `${video.width}×${video.height}` : "?";
  const secs = video.duration ? `${video.duration.toFixed(1)} s` : "";
  meta.textContent = `${video.path} · ${size(video.size)} · ${res} · ${secs} · ${video.created_at.slice(0, 10)} · ${video.folder || "unsorted"}`;
  const keep = document.createElement("span");
  keep.append(pick, " keep this one");
  div.append(v, keep, meta);
  return div;
}

async function undo(events, button) {
  button.disabled = true;
  try {
    for (const event of events) await api("POST", "/api/undo", { event });
    toast("Moved back");
    await load();
  } catch (err) {
    toast(err.detail, { level: "error", ms: 6000 });
    button.disabled = false;
  }
}

async function resolve(group, box) {
  const keep = box.querySelector(`input[name="keep-${group.index}"]:checked`);
  const folder = $("dup-folder").value.trim();
  if (!keep || !folder) { toast("Pick one to keep and name a folder", { level: "error" }); return; }
  try {
    const res = await api("POST", "/api/duplicates/resolve", {
      keep: Number(keep.value), move_others_to: folder, library: cfg.library,
    });
    toast(`Moved ${res.moved} to ${res.folder}` + (res.failed ? `, ${res.failed} failed` : ""));
    const actions = box.querySelector(".actions");
    const back = document.createElement("button");
    back.type = "button"; back.textContent = "Undo";
    back.addEventListener("click", () => undo(res.events, back));
    actions.replaceChildren(`Moved ${res.moved} into “${res.folder}”.`, back);
  } catch (err) {
    toast(err.detail, { level: "error", ms: 6000 });
  }
}

function render(group) {
  const box = document.createElement("section");
  box.className = "group";
  const title = document.createElement("h2");
  title.textContent = `${group.videos.length} ${group.exact ? "exact copies" : "near-duplicates"}`;
  const tiles = document.createElement("div");
  tiles.className = "tiles";
  group.videos.forEach((video, i) => tiles.append(tile(video, group, i === 0)));
  const actions = document.createElement("div");
  actions.className = "actions";
  const go = document.createElement("button");
  go.type = "button"; go.textContent = "Keep the selected one, move the others";
  go.addEventListener("click", () => resolve(group, box));
  actions.append(go);
  box.append(title, tiles, actions);
  return box;
}

async function load() {
  try {
    const data = await api("GET", `/api/duplicates?library=${cfg.library}`);
    $("dup-count").textContent = data.count ? `${data.count} groups` : "No duplicates found.";
    $("dup-groups").replaceChildren(...data.groups.map(render));
  } catch (err) {
    $("dup-count").textContent = err.detail;
  }
}

$("dup-folder").value = cfg.defaultFolder;
load();
