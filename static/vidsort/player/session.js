// What the progress counter remembers for this browser tab (sessionStorage): the total
// the session started with, so "26 / 36 remaining" stays "26 / 36" after a reload.

import { cfg } from "./state.js";

const key = () => `vidsort.startTotal.${cfg.library || 0}`;

export function savedStartTotal() {
  try { return Number(sessionStorage.getItem(key())) || 0; } catch (_) { return 0; }
}

export function saveStartTotal(total) {
  try { sessionStorage.setItem(key(), String(total)); } catch (_) { /* storage off: forget it */ }
}
