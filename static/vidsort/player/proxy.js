// Playable proxies (docs/player.md): a file this browser cannot play (HEVC, AVI, …) gets
// an H.264 copy made by the worker. The player says so at once instead of showing a black
// stage, asks for the copy, polls until it is ready and then plays the copy.

import { api } from "../http.js";
import { el } from "./dom.js";
import { S } from "./state.js";

const POLL_MS = 1500;
const asked = new Set(); // item ids whose copy is on its way (asked or polled)

const ready = (item) => !!(item.playback && item.playback.proxy === "ready" && item.playback.proxy_url);

// The probe said the browser cannot play the file, and there is no copy yet.
export const waitsForProxy = (item) => item.status === "ok" && !!item.playback &&
  (item.playback.needs_proxy || item.playback.forced) && !ready(item);

// What the <video> element should load: the copy when there is one.
export const sourceOf = (item) => (ready(item) ? item.playback.proxy_url : item.url);

export function showProxyMessage(item) {
  const p = item.playback || {};
  el.messageTitle.textContent = `This browser cannot play ${p.reason || "this file"}`;
  el.messageReason.textContent = p.proxy === "failed"
    ? `A playable copy could not be made: ${p.proxy_error || "no reason given"}.`
    : "Making a playable copy (H.264)… it starts here as soon as it is ready.";
  el.message.hidden = false;
  el.message.dataset.kind = "proxy";
  const button = document.getElementById("make-proxy");
  if (button) button.hidden = true;
  el.player.dataset.state = p.proxy === "failed" ? "broken" : "converting";
}

// The browser failed on a file the probe thought playable: offer to make a copy of it
// (a button in the message). offerProxy(null) hides the offer.
export function offerProxy(item, onReady) {
  const button = document.getElementById("make-proxy");
  if (!button) return;
  const offer = !!item && item.status === "ok" && !ready(item) && !asked.has(item.id);
  button.hidden = !offer;
  button.onclick = !offer ? null : () => {
    button.hidden = true;
    item.playback = Object.assign({}, item.playback || {}, {
      forced: true, reason: `this file (${item.broken || "it stopped"})`, proxy: "none",
    });
    showProxyMessage(item);
    ensureProxy(item, onReady);
  };
}

// Asks for the copy once and polls its state; onReady(item) runs when it can play.
export async function ensureProxy(item, onReady) {
  if (ready(item)) { onReady(item); return; }
  if (asked.has(item.id)) return;
  asked.add(item.id);
  try {
    let state = item.playback.proxy === "pending"
      ? await api("GET", `/api/videos/${item.id}/proxy`)
      : await api("POST", `/api/videos/${item.id}/proxy`);
    while (state.proxy === "pending" || state.proxy === "none") {
      update(item, state);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (!S.byId.has(item.id)) return; // dropped from the queue meanwhile
      state = await api("GET", `/api/videos/${item.id}/proxy`);
    }
    update(item, state);
    if (ready(item)) onReady(item);
  } catch (err) {
    update(item, { proxy: "failed", proxy_error: err.detail || String(err) });
  } finally {
    asked.delete(item.id);
  }
}

function update(item, state) {
  item.playback = Object.assign({}, item.playback || {}, state);
  if (S.cur === item && !ready(item)) showProxyMessage(item);
}
