// DOM rendering of the panels: folders, prediction, progress, timeline, stats, messages.

// Only draws: the clicks on what it draws are bound once, on the containers, in input.js.

import { el, pct, seconds } from "./dom.js";
import { saveStartTotal } from "./session.js";
import { S, cfg, countOf, folderById, isLow, pendingPlayable } from "./state.js";
import { renderTeamCounter, renderVotes, voteCounts } from "./teamrender.js";
import { folderWords, showTextSoon } from "./text.js";

export function renderFolders() {
  const item = S.cur;
  const votes = voteCounts(item);
  const frag = document.createDocumentFragment();
  for (const f of S.folders) {
    const li = document.createElement("li");
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "folder";
    btn.dataset.folder = f.id;
    if (f.key) btn.dataset.key = f.key;
    btn.title = f.key ? `File into ${f.name} (${f.key})` : `File into ${f.name}`;
    const predicted = item && item.predicted_folder_id === f.id;
    if (predicted) {
      btn.classList.add("predicted");
      if (isLow(item)) btn.classList.add("low");
    }
    btn.innerHTML = `<kbd class="key"></kbd><span class="name"></span><span class="count"></span>`;
    btn.querySelector(".key").textContent = f.key || "·";
    btn.querySelector(".name").textContent = f.name;
    btn.querySelector(".count").textContent = countOf(f);
    if (votes.has(f.id)) {
      const tag = document.createElement("span");
      tag.className = "votes-tag";
      tag.textContent = `${votes.get(f.id)} vote${votes.get(f.id) === 1 ? "" : "s"}`;
      btn.dataset.votes = votes.get(f.id);
      btn.querySelector(".name").appendChild(tag);
    }
    if (predicted) {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.innerHTML = `<span class="word"></span>`;
      tag.firstChild.textContent = isLow(item) ? "uncertain " : "predicted ";
      tag.append(pct(item.confidence));
      btn.querySelector(".name").appendChild(tag);
    }
    const edit = document.createElement("button");
    edit.type = "button"; edit.className = "edit"; edit.textContent = "✎";
    edit.dataset.folder = f.id;
    edit.title = `Rename ${f.name}, edit its prompts or key`;
    edit.setAttribute("aria-label", edit.title);
    const gallery = document.createElement("a");
    gallery.className = "gallery-link"; gallery.href = `/gallery/${f.id}`; gallery.textContent = "▦";
    gallery.title = `Open the ${f.name} gallery`;
    gallery.setAttribute("aria-label", gallery.title);
    li.append(btn, edit, gallery);
    frag.appendChild(li);
  }
  el.folders.replaceChildren(frag);
}

export function renderItem(item) {
  renderFolders();
  renderCounter();
  renderTimeline(item);
  renderTextPanel(item);
  if (S.team.kind) renderVotes(item);
  if (!item) {
    el.filename.textContent = "–"; el.meta.textContent = ""; el.prediction.textContent = "";
    el.top3.replaceChildren();
    return;
  }
  el.filename.textContent = item.filename;
  el.filename.title = item.path;
  const dims = item.width && item.height ? `${item.width}×${item.height}` : "";
  el.meta.textContent = [seconds(item.duration), dims, item.source || ""].filter(Boolean).join(" · ");
  el.prediction.className = "prediction";
  if (item.predicted_folder) {
    const low = isLow(item);
    el.prediction.classList.toggle("low", low);
    el.prediction.innerHTML = "";
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = low ? `Uncertain (below ${pct(cfg.lowConfidence)})` : "Predicted";
    const name = document.createElement("strong");
    name.textContent = ` ${item.predicted_folder} · ${pct(item.confidence)}`;
    el.prediction.append(label, name);
  } else {
    // Not a success: a neutral box; a file that cannot be read never gets one.
    el.prediction.classList.add("none");
    el.prediction.textContent = item.status === "ok"
      ? "No prediction yet: retrain to get one."
      : "No prediction: the file cannot be read, so no model can look at it.";
  }
  const rows = (item.top_predictions || []).slice(0, 3).map((t) => {
    const li = document.createElement("li");
    li.className = "top";
    li.dataset.folder = t.folder_id;
    li.dataset.confidence = t.confidence;
    const f = folderById(t.folder_id);
    li.innerHTML = `<span class="name"></span><span class="value"></span><div class="bar"><div></div></div>`;
    li.querySelector(".name").textContent = (f && f.key ? f.key + " " : "") + t.folder;
    li.querySelector(".value").textContent = pct(t.confidence, 1);
    li.querySelector(".bar > div").style.width = Math.max(0, Math.min(100, t.confidence * 100)) + "%";
    return li;
  });
  el.top3.replaceChildren(...rows);
}

// "Said / written": fetched for the video on screen only, and only while the panel is open;
// the words of its predicted folder are highlighted.
export function renderTextPanel(item) {
  if (!item) { el.text.replaceChildren(); delete el.text.dataset.video; return; }
  if (!el.textPanel.open) return;
  const words = folderWords(folderById(item.predicted_folder_id));
  showTextSoon(el.text, item.id, words, () => S.cur === item && el.textPanel.open);
}

export function renderCounter() {
  if (S.team.kind) { renderTeamCounter(); return; }
  if (S.serverRemaining == null) return;
  const remaining = Math.max(0, S.serverRemaining - pendingPlayable().length);
  S.startTotal = Math.max(S.startTotal, remaining);
  saveStartTotal(S.startTotal);
  el.counter.textContent = `${remaining} / ${S.startTotal} remaining`;
  el.counter.dataset.remaining = remaining;
  const done = S.startTotal ? (S.startTotal - remaining) / S.startTotal : 1;
  el.progressBar.style.width = (done * 100).toFixed(1) + "%";
}

// The coloured blocks where the prediction matches; each seeks to data-start when clicked.
export function renderTimeline(item) {
  el.segments.replaceChildren();
  el.played.style.width = "0";
  if (!item) return;
  const v = S.videos.get(item.id);
  const duration = item.duration || (v && isFinite(v.duration) ? v.duration : 0);
  if (!duration) return;
  for (const seg of item.segments || []) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "segment" + (seg.folder_id === item.predicted_folder_id ? " predicted" : "");
    b.dataset.start = seg.start;
    const f = folderById(seg.folder_id);
    b.style.left = (100 * seg.start / duration).toFixed(2) + "%";
    b.style.width = Math.max(0.8, 100 * (seg.end - seg.start) / duration).toFixed(2) + "%";
    b.title = `${f ? f.name : "folder " + seg.folder_id}: ${seconds(seg.start)}–${seconds(seg.end)} (${pct(seg.score)})`;
    b.setAttribute("aria-label", b.title);
    el.segments.appendChild(b);
  }
}

export function drawPlayed(v) {
  if (v.duration && isFinite(v.duration)) el.played.style.width = (100 * v.currentTime / v.duration) + "%";
}

export function showBroken(item) {
  const unreadable = item.status !== "ok";
  el.messageTitle.textContent = unreadable ? "This file is not a playable video" : "This video cannot be played";
  el.messageReason.textContent = unreadable
    ? `The library scan marked it ${item.status}: ${item.error || "no reason recorded"}.`
    : `The browser stopped: ${item.broken}.`;
  el.message.hidden = false;
  el.player.dataset.state = "broken";
  const v = S.videos.get(item.id);
  if (v) v.pause();
}

export function renderStats(stats) {
  const last = stats.last_retrain;
  el.lastRetrain.textContent = last
    ? `v${last.version} · ${last.accuracy != null ? pct(last.accuracy, 1) + " accuracy" : "no accuracy yet"} · ${last.n_labels ?? "?"} labels`
    : "never";
  const live = stats.live_accuracy;
  el.liveAccuracy.textContent = live && live.sorts
    ? `${pct(live.accuracy, 0)} (${live.agreed} of ${live.sorts} sorts agreed)`
    : "no sorts since the last retrain";
}
