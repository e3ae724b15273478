// The gallery page: one folder (or the unsorted videos) as a grid, each video movable.

// Videos play on hover (tap on touch screens); "Move to" goes through POST /api/sort.

import { goldButton, loadGold } from "./gold.js";
import { api } from "./http.js";
import { folderWords, lineTime, showTextSoon } from "./player/text.js";
import { toast } from "./toast.js";

const cfg = JSON.parse(document.getElementById("gallery-config").textContent);
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
let unreadable = params.get("status") === "unreadable";
let folders = [];
let total = 0;

function renderNav(unsortedCount) {
  const nav = $("gallery-nav");
  const links = [{ id: "unsorted", name: "Unsorted", count: unsortedCount }].concat(folders);
  nav.replaceChildren(...links.map((f) => {
    const a = document.createElement("a");
    a.href = `/gallery/${f.id}`;
    a.textContent = `${f.name} (${f.count})`;
    if (String(f.id) === String(cfg.folder)) a.className = "current";
    return a;
  }));
}

function card(video) {
  const div = document.createElement("div");
  div.className = "card";
  div.dataset.video = video.id;
  const poster = document.createElement("div");
  poster.className = "poster";
  const v = document.createElement("video");
  v.muted = true; v.loop = true; v.playsInline = true; v.preload = "metadata";
  if (video.status === "ok") v.src = video.url + "#t=0.1"; // the frame at 0.1 s is the poster
  const state = document.createElement("div");
  state.className = "state";
  state.hidden = true;
  v.addEventListener("error", () => { state.hidden = false; state.textContent = "cannot be played"; });
  poster.append(v, state);
  const playIt = () => { if (v.src) v.play().catch(() => {}); };
  const stopIt = () => v.pause();
  poster.addEventListener("mouseenter", playIt);
  poster.addEventListener("mouseleave", stopIt);
  poster.addEventListener("click", () => (v.paused ? playIt() : stopIt()));

  const body = document.createElement("div");
  body.className = "body";
  const name = document.createElement("div");
  name.className = "name";
  name.textContent = video.filename;
  name.title = video.path;
  body.appendChild(name);
  const meta = document.createElement("div");
  meta.className = "muted";
  const bits = [];
  if (video.duration) bits.push(video.duration.toFixed(1) + " s");
  if (video.predicted_folder && video.folder_id == null) {
    bits.push(`predicted ${video.predicted_folder} ${Math.round(video.confidence * 100)} %`);
  }
  meta.textContent = bits.join(" · ");
  body.appendChild(meta);
  if (video.status !== "ok") {
    const err = document.createElement("div");
    err.className = "error";
    err.textContent = `${video.status}: ${video.error || "no reason recorded"}`;
    body.appendChild(err);
  }
  const select = document.createElement("select");
  select.setAttribute("aria-label", `Move ${video.filename} to`);
  const options = [["", "Move to…"]];
  if (video.folder_id != null) options.push(["unsorted", "Unsorted (library root)"]);
  for (const f of folders) if (f.id !== video.folder_id) options.push([String(f.id), f.name]);
  for (const [value, label] of options) {
    const o = document.createElement("option");
    o.value = value; o.textContent = label;
    select.appendChild(o);
  }
  select.addEventListener("change", () => move(video, select, div));
  body.appendChild(select);
  if (cfg.canGold && video.folder_id != null) body.appendChild(goldButton(video, cfg.library));
  body.appendChild(textToggle(video, v));
  div.append(poster, body);
  return div;
}

// "Text": the video's transcript and on-screen lines under the card, fetched when first
// opened; the words of its folder (or predicted folder) are highlighted, a line seeks.
function textToggle(video, v) {
  const wrap = document.createElement("div");
  wrap.className = "card-text";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "small text-toggle";
  button.textContent = "Text";
  button.setAttribute("aria-expanded", "false");
  button.title = `What ${video.filename} says and shows`;
  const lines = document.createElement("div");
  lines.className = "text-body";
  lines.hidden = true;
  button.addEventListener("click", () => {
    lines.hidden = !lines.hidden;
    button.setAttribute("aria-expanded", String(!lines.hidden));
    if (lines.hidden) return;
    const folder = folders.find((f) => f.id === (video.folder_id ?? video.predicted_folder_id));
    showTextSoon(lines, video.id, folderWords(folder), () => !lines.hidden, { delay: 0 });
  });
  lines.addEventListener("click", (e) => {
    const t = lineTime(e);
    if (t == null || !v.src) return;
    v.currentTime = t;
    v.play().catch(() => {});
  });
  wrap.append(button, lines);
  return wrap;
}

// The folder tabs' counts after a move: the server's, so they match the other pages.
async function refreshNav() {
  try {
    const data = await api("GET", "/api/folders");
    folders = data.folders;
    renderNav(data.unsorted);
  } catch (_) { /* the counts stay as they were; the next page load corrects them */ }
}

async function move(video, select, div) {
  const value = select.value;
  if (!value) return;
  const target = value === "unsorted" ? null : Number(value);
  select.disabled = true;
  try {
    const r = await api("POST", "/api/sort", {
      video: video.id, folder: target, expected_folder: video.folder_id, route: "player",
    });
    div.classList.add("moved");
    const where = r.folder || "unsorted";
    select.replaceWith(Object.assign(document.createElement("div"), { textContent: `Moved to ${where}` }));
    div.querySelector("video").pause();
    total -= 1;
    $("gallery-count").textContent = `${total} video${total === 1 ? "" : "s"}`;
    refreshNav();
    toast(`${video.filename} → ${where}`, { ms: 3000 });
  } catch (err) {
    select.disabled = false;
    select.value = "";
    toast(`Could not move ${video.filename}: ${err.message}`, { level: "error" });
  }
}

async function load() {
  const size = cfg.pageSize;
  const status = unreadable ? "&status=unreadable" : "";
  try {
    const [folderData, data] = await Promise.all([
      api("GET", "/api/folders"),
      api("GET", `/api/videos?folder=${encodeURIComponent(cfg.folder)}&order=filename&limit=${size}&offset=${(page - 1) * size}${status}`),
      cfg.canGold ? loadGold(cfg.library).catch(() => null) : null, // no marks: toggles off
    ]);
    folders = folderData.folders;
    renderNav(folderData.unsorted);
    total = data.total;
    const pages = Math.max(1, Math.ceil(total / size));
    $("gallery-count").textContent = `${total} video${total === 1 ? "" : "s"}`;
    $("page-info").textContent = `Page ${page} of ${pages}`;
    $("page-prev").disabled = page <= 1;
    $("page-next").disabled = page >= pages;
    const grid = $("grid");
    for (const old of grid.querySelectorAll("video")) { old.removeAttribute("src"); old.load(); }
    grid.replaceChildren(...data.videos.map(card));
    if (!data.videos.length) grid.textContent = "Nothing here.";
  } catch (err) {
    $("gallery-count").textContent = "Could not load: " + err.message;
  }
}

function go(newPage) {
  page = newPage;
  const q = new URLSearchParams();
  if (page > 1) q.set("page", page);
  if (unreadable) q.set("status", "unreadable");
  history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : ""));
  load();
  window.scrollTo(0, 0);
}

$("page-prev").addEventListener("click", () => go(page - 1));
$("page-next").addEventListener("click", () => go(page + 1));
$("show-unreadable").checked = unreadable;
$("show-unreadable").addEventListener("change", (e) => { unreadable = e.target.checked; go(1); });
load();
