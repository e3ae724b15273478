// The phone layout's few behaviours (docs/player.md): the prediction shown over the video,
// the details sheet (☰ Details, a long press on the video, Close, Esc) — the rest is CSS.

import { $, el } from "./dom.js";

const LONG_PRESS_MS = 550;
const sheetOpen = () => el.player.dataset.details === "open";

export function toggleDetails(open = !sheetOpen()) {
  if (open) el.player.dataset.details = "open"; else delete el.player.dataset.details;
  $("btn-details").setAttribute("aria-expanded", String(open));
}

// The overlay line mirrors the details panel's prediction box, whatever drew it.
function mirrorPrediction() {
  const target = $("phone-prediction");
  const box = el.prediction;
  const copy = () => {
    target.replaceChildren(...[...box.childNodes].map((n) => n.cloneNode(true)));
    target.className = "phone-prediction phone-only " + [...box.classList].filter((c) => c !== "prediction").join(" ");
  };
  new MutationObserver(copy).observe(box, { childList: true, characterData: true, subtree: true, attributes: true });
  copy();
}

// Press and hold the video (no move): the details open, and the touch does not also
// play/pause (the tap handler in input.js never sees its end).
function bindLongPress() {
  let timer = null;
  let fired = false;
  let origin = null;
  const cancel = () => { clearTimeout(timer); timer = null; };
  el.box.addEventListener("touchstart", (e) => {
    fired = false;
    if (e.touches.length !== 1) { cancel(); return; }
    origin = { x: e.touches[0].clientX, y: e.touches[0].clientY };
    cancel();
    timer = setTimeout(() => { timer = null; fired = true; toggleDetails(true); }, LONG_PRESS_MS);
  }, { passive: true });
  el.box.addEventListener("touchmove", (e) => {
    const t = e.touches[0];
    if (origin && t && Math.hypot(t.clientX - origin.x, t.clientY - origin.y) > 10) cancel();
  }, { passive: true });
  el.box.addEventListener("touchend", (e) => {
    cancel();
    // No tap after a long press: not the play/pause toggle, nor a click on the sheet
    // that opened under the finger.
    if (fired) { fired = false; e.stopImmediatePropagation(); e.preventDefault(); }
  }, { capture: true, passive: false });
  el.box.addEventListener("contextmenu", (e) => { if (fired || timer) e.preventDefault(); });
}

function bind() {
  if (!$("btn-details")) return;
  $("btn-details").addEventListener("click", () => toggleDetails());
  $("details-close").addEventListener("click", () => toggleDetails(false));
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && sheetOpen()) toggleDetails(false); });
  mirrorPrediction();
  bindLongPress();
}

bind();
