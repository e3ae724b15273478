// The <video> elements: preloading, the swap to the next one, play, mute, seek, done screen.

// The next two videos wait hidden with preload="auto", so "next" only swaps which element
// is visible and calls play().

import { toast } from "../toast.js";
import { $, el } from "./dom.js";
import { fetchMoreSoon, needMore } from "./queue.js";
import { ensureProxy, offerProxy, showProxyMessage, sourceOf, waitsForProxy } from "./proxy.js";
import { drawPlayed, renderItem, renderTimeline, showBroken } from "./render.js";
import { S, countOf, nextOpen, prevOpen } from "./state.js";
import { renderTeamComplete } from "./teamrender.js";

const PRELOAD_AHEAD = 2;
const MEDIA_ERRORS = {
  1: "loading was aborted",
  2: "a network error interrupted the download",
  3: "the file is corrupt or uses features the browser cannot decode",
  4: "the file is missing, or its format or codec is not supported by this browser",
};

function videoFor(item) {
  let v = S.videos.get(item.id);
  if (v) return v;
  v = document.createElement("video");
  v.className = "clip";
  v.preload = "auto";
  v.loop = true;
  v.playsInline = true;
  v.setAttribute("playsinline", "");
  v.muted = S.muted;
  v.dataset.id = item.id;
  v.hidden = true;
  v.addEventListener("error", () => {
    const code = v.error ? v.error.code : 0;
    item.broken = MEDIA_ERRORS[code] || "the browser could not play it";
    if (S.cur === item) { showBroken(item); offerProxy(item, proxyReady); }
  });
  v.addEventListener("timeupdate", () => { if (S.cur === item) drawPlayed(v); });
  v.addEventListener("play", () => { if (S.cur === item) $("btn-play").textContent = "Pause"; });
  v.addEventListener("pause", () => { if (S.cur === item) $("btn-play").textContent = "Play"; });
  v.addEventListener("loadedmetadata", () => { if (S.cur === item) renderTimeline(item); });
  if (item.status === "ok" && !waitsForProxy(item)) v.src = sourceOf(item);
  el.box.insertBefore(v, el.box.firstChild);
  S.videos.set(item.id, v);
  return v;
}

export function dropVideo(id) {
  const v = S.videos.get(id);
  if (!v) return;
  v.pause();
  v.removeAttribute("src");
  v.load(); // releases the connection and the decoder
  v.remove();
  S.videos.delete(id);
}

// Keeps the current, the next PRELOAD_AHEAD open and the previous open item's elements.
export function preloadAround(item) {
  const keep = new Set([item.id]);
  let next = item;
  for (let n = 0; n < PRELOAD_AHEAD; n++) {
    next = nextOpen(next);
    if (!next) break;
    keep.add(next.id);
    videoFor(next);
    if (waitsForProxy(next)) ensureProxy(next, proxyReady); // the copy is made before it is reached
  }
  const prev = prevOpen(item);
  if (prev) keep.add(prev.id);
  for (const id of [...S.videos.keys()]) if (!keep.has(id)) dropVideo(id);
}

export function currentVideo() {
  return S.cur ? S.videos.get(S.cur.id) || null : null;
}

// startedAt (an event time) is given on a switch: the time to playing goes to S.metrics.
export function play(v, startedAt) {
  const attempt = v.play();
  if (!attempt) return;
  attempt.then(() => {
    if (startedAt != null) {
      const ms = performance.now() - startedAt;
      S.metrics.lastSwitchMs = ms;
      S.metrics.switches.push(ms);
    }
  }).catch((err) => {
    if (err.name === "NotAllowedError" && !v.muted) {
      // Autoplay with sound needs a user gesture first: start muted, say so.
      setMuted(true);
      play(v, startedAt);
    }
    // AbortError: we switched away before it started; nothing to do.
  });
}

export function show(item, { startedAt = null } = {}) {
  const old = currentVideo();
  if (old && (!item || old.dataset.id !== String(item.id))) {
    old.pause();
    old.hidden = true;
    old.classList.remove("current");
  }
  S.cur = item;
  S.nav++;
  el.complete.hidden = true;
  el.loading.hidden = true;
  if (!item) return;
  el.player.dataset.state = "playing";
  el.player.dataset.video = item.id;
  const v = videoFor(item);
  v.hidden = false;
  v.classList.add("current");
  v.muted = S.muted;
  offerProxy(null);
  if (item.status !== "ok" || item.broken) {
    showBroken(item);
    offerProxy(item, proxyReady);
  } else if (waitsForProxy(item)) {
    showProxyMessage(item);
    v.pause();
    ensureProxy(item, proxyReady);
  } else {
    el.message.hidden = true;
    play(v, startedAt);
  }
  renderItem(item);
  preloadAround(item);
  if (needMore(item)) {
    fetchMoreSoon().then(() => { if (S.cur === item) preloadAround(item); }).catch((err) => {
      toast("Could not load more videos: " + err.detail, { level: "error" });
    });
  }
}

// The copy of a file the browser cannot play is ready: load it, and play it if on screen.
function proxyReady(item) {
  const v = S.videos.get(item.id);
  if (v && v.getAttribute("src") !== item.playback.proxy_url) {
    v.src = item.playback.proxy_url;
    v.load();
  }
  item.broken = null;
  if (S.cur !== item || !v) return;
  el.message.hidden = true;
  delete el.message.dataset.kind;
  el.player.dataset.state = "playing";
  play(v);
}

export function showComplete() {
  const old = currentVideo();
  if (old) { old.pause(); old.hidden = true; old.classList.remove("current"); }
  S.cur = null;
  el.player.dataset.state = "complete";
  delete el.player.dataset.video;
  el.message.hidden = true;
  el.loading.hidden = true;
  el.complete.hidden = false;
  const filed = S.folders.reduce((n, f) => n + countOf(f), 0);
  el.completeTotals.textContent =
    `You sorted ${S.sortedHere} video${S.sortedHere === 1 ? "" : "s"} in this session. ` +
    `${filed} videos are in ${S.folders.length} folders.`;
  const unplayable = S.items.filter((i) => i.status !== "ok" && i.state === "open").length;
  el.completeUnplayable.hidden = !unplayable;
  el.completeUnplayable.querySelector("span").textContent =
    `${unplayable} unplayable file${unplayable === 1 ? " remains" : "s remain"} in the library root.`;
  if (S.team.kind) renderTeamComplete();
  renderItem(null);
}

// After the current one is sorted or skipped: the next open one (fetching more if
// needed), else the first skipped playable one, else the completion screen.
export async function advance(from, startedAt) {
  let next = nextOpen(from);
  if (!next && !S.exhausted) {
    const nav = S.nav;
    el.loading.hidden = false;
    try {
      await fetchMoreSoon();
    } catch (err) {
      toast("Could not load more videos: " + err.detail, { level: "error" });
    }
    el.loading.hidden = true;
    if (S.nav !== nav) return; // something else was shown meanwhile (a failed sort, an undo)
    next = nextOpen(from);
  }
  if (!next) next = S.items.find((i) => i.state === "open" && i.status === "ok" && i !== from) || null;
  if (next) {
    show(next, { startedAt });
  } else if (from && from.state === "open" && from.status === "ok") {
    toast("This is the last video in the queue.");
  } else {
    showComplete();
  }
}

export function togglePlay() {
  const v = currentVideo();
  if (!v || !S.cur || S.cur.status !== "ok") return;
  if (v.paused) play(v); else v.pause();
}

export function seekBy(delta) {
  const v = currentVideo();
  if (!v || !isFinite(v.duration)) return;
  v.currentTime = Math.max(0, Math.min(v.duration - 0.05, v.currentTime + delta));
}

export function seekTo(t) {
  const v = currentVideo();
  if (!v) return;
  v.currentTime = t;
  if (v.paused) play(v);
}

export function setMuted(muted) {
  S.muted = muted;
  for (const v of S.videos.values()) v.muted = muted;
  el.muteBadge.hidden = !muted;
  $("btn-mute").textContent = muted ? "Unmute" : "Mute";
}
