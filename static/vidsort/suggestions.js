// The suggestions page: GET /api/suggestions, tick videos, POST /api/suggestions/accept.
// Filing is a journalled sort per video: "Undo" calls POST /api/undo for each, newest first.

import { api } from "./http.js";
import { toast } from "./toast.js";

const cfg = JSON.parse(document.getElementById("suggestions-config").textContent);
const $ = (id) => document.getElementById(id);
const PREVIEW = 12;

function tile(video) {
  const div = document.createElement("label");
  div.className = "tile";
  const v = document.createElement("video");
  v.muted = true; v.preload = "metadata"; v.playsInline = true;
  v.src = video.url + "#t=0.1";
  v.addEventListener("mouseenter", () => v.play().catch(() => {}));
  v.addEventListener("mouseleave", () => v.pause());
  const tick = document.createElement("input");
  tick.type = "checkbox"; tick.checked = true; tick.value = video.id;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.append(tick, " " + video.filename);
  div.append(v, meta);
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

async function accept(box, nameInput) {
  const videos = [...box.querySelectorAll("input[type=checkbox]:checked")].map((c) => Number(c.value));
  try {
    const res = await api("POST", "/api/suggestions/accept", {
      name: nameInput.value.trim(), videos, library: cfg.library,
    });
    toast(`Filed ${res.moved} into ${res.folder}` + (res.failed ? `, ${res.failed} failed` : ""));
    const back = document.createElement("button");
    back.type = "button"; back.textContent = "Undo";
    back.addEventListener("click", () => undo(res.events, back));
    box.querySelector(".actions").replaceChildren(`Filed ${res.moved} into “${res.folder}”.`, back);
  } catch (err) {
    toast(err.detail, { level: "error", ms: 6000 });
  }
}

function render(s) {
  const box = document.createElement("section");
  box.className = "group";
  const title = document.createElement("h2");
  const words = s.keywords.length ? ` · words: ${s.keywords.join(", ")}` : "";
  title.textContent = `${s.size} videos · cohesion ${s.cohesion.toFixed(2)}${words}`;
  const tiles = document.createElement("div");
  tiles.className = "tiles";
  s.videos.forEach((video, i) => {
    const t = tile(video);
    if (i >= PREVIEW) t.hidden = true;
    tiles.append(t);
  });
  const actions = document.createElement("div");
  actions.className = "actions";
  const name = document.createElement("input");
  name.type = "text"; name.maxLength = 100; name.value = s.name; name.setAttribute("aria-label", "Folder name");
  const more = document.createElement("button");
  more.type = "button"; more.textContent = `Show all ${s.videos.length}`;
  more.hidden = s.videos.length <= PREVIEW;
  more.addEventListener("click", () => { tiles.querySelectorAll(".tile").forEach((t) => { t.hidden = false; }); more.hidden = true; });
  const go = document.createElement("button");
  go.type = "button"; go.textContent = "Create folder";
  go.addEventListener("click", () => accept(box, name));
  actions.append(name, go, more);
  box.append(title, tiles, actions);
  return box;
}

async function load() {
  try {
    const data = await api("GET", `/api/suggestions?library=${cfg.library}`);
    $("sug-count").textContent = data.count ? `${data.count} suggestions` : "No suggestions: every unsorted video is close to a folder.";
    $("sug-clusters").replaceChildren(...data.suggestions.map(render));
  } catch (err) {
    $("sug-count").textContent = err.detail;
  }
}

load();
