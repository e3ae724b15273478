// Keys, swipes, taps and clicks: binds every control of the player page to its action.

import { $, el } from "./dom.js";
import {
  acceptPrediction, changeOrder, previous, reviewUnplayable, skip, sortInto, sortIntoKey, undo,
} from "./actions.js";
import { closeFolderDialog, openFolderDialog, saveFolder, toggleHelp } from "./dialogs.js";
import { startRetrain } from "./retrain.js";
import { checkAgain } from "./team.js";
import { renderTextPanel } from "./render.js";
import { S, folderById } from "./state.js";
import { lineTime } from "./text.js";
import { currentVideo, seekBy, seekTo, setMuted, togglePlay } from "./video.js";

function onKey(e) {
  if (!el.folderDialog.hidden) {
    if (e.key === "Escape") { e.preventDefault(); closeFolderDialog(); }
    return;
  }
  const t = e.target;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) {
    if (e.key === "Escape") t.blur();
    return;
  }
  if (!el.help.hidden) {
    if (e.key === "Escape" || e.key === "?" || e.key === "Enter") { e.preventDefault(); toggleHelp(false); }
    return;
  }
  if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "z" || e.key === "Z") && !e.shiftKey) {
    e.preventDefault(); undo(); return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const key = e.key;
  let handled = true;
  if (/^[1-9]$/.test(key)) {
    if (!e.repeat) sortIntoKey(Number(key), e);
  } else {
    switch (key) {
      case "Enter": if (!e.repeat) acceptPrediction(e); break;
      case " ": case "Spacebar": togglePlay(); break;
      case "ArrowLeft": seekBy(-5); break;
      case "ArrowRight": seekBy(5); break;
      case "ArrowDown": case "j": case "J": skip(e); break;
      case "ArrowUp": case "k": case "K": previous(e); break;
      case "m": case "M": setMuted(!S.muted); break;
      case "z": case "Z": if (!e.repeat) undo(); break;
      case "n": case "N": openFolderDialog(null); break;
      case "?": toggleHelp(true); break;
      case "Escape": break;
      default: handled = false;
    }
  }
  if (handled) e.preventDefault();
}

// On the video: a quick vertical swipe goes to the next (up) or previous (down) video,
// a tap plays or pauses.
function bindTouch() {
  let start = null;
  el.box.addEventListener("touchstart", (e) => {
    if (e.touches.length !== 1) { start = null; return; }
    const t = e.touches[0];
    start = { x: t.clientX, y: t.clientY, at: e.timeStamp };
  }, { passive: true });
  el.box.addEventListener("touchmove", (e) => { if (start) e.preventDefault(); }, { passive: false });
  el.box.addEventListener("touchend", (e) => {
    if (!start) return;
    const t = e.changedTouches[0];
    const dx = t.clientX - start.x, dy = t.clientY - start.y;
    const quick = e.timeStamp - start.at < 900;
    start = null;
    if (quick && Math.abs(dy) > 50 && Math.abs(dy) > 1.5 * Math.abs(dx)) {
      if (dy < 0) skip(e); else previous(e);
    } else if (Math.abs(dx) < 10 && Math.abs(dy) < 10 && !e.target.closest("button")) {
      togglePlay();
    }
  });
}

// The folder list and the timeline are redrawn often: one listener each, on the container.
function bindRendered() {
  el.folders.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    const folder = button && folderById(Number(button.dataset.folder));
    if (!folder) return;
    if (button.classList.contains("edit")) {
      openFolderDialog(folder);
    } else {
      button.blur();
      sortInto(folder, e);
    }
  });
  el.segments.addEventListener("click", (e) => {
    const segment = e.target.closest(".segment");
    if (!segment) return;
    e.stopPropagation(); // not a click on the timeline under it
    seekTo(Number(segment.dataset.start));
    segment.blur();
  });
}

// "Said / written" stays open or closed as it was left; on a phone it starts closed, being
// below the folders anyway. A click on a line plays the video from there.
function bindTextPanel() {
  const KEY = "vidsort.textPanel";
  let saved = null;
  try { saved = localStorage.getItem(KEY); } catch (_) { /* storage off: the default */ }
  el.textPanel.open = saved ? saved === "open" : !matchMedia("(max-width: 760px)").matches;
  el.textPanel.addEventListener("toggle", () => {
    try { localStorage.setItem(KEY, el.textPanel.open ? "open" : "closed"); } catch (_) { /* kept for this page only */ }
    renderTextPanel(S.cur);
  });
  el.textPanel.querySelector("summary").addEventListener("click", (e) => e.currentTarget.blur());
  el.text.addEventListener("click", (e) => {
    const t = lineTime(e);
    if (t != null && S.cur && el.text.dataset.video === String(S.cur.id)) seekTo(t);
  });
}

export function bindInput() {
  document.addEventListener("keydown", onKey);
  el.timeline.addEventListener("click", (e) => {
    const v = currentVideo();
    if (!v || !isFinite(v.duration)) return;
    const rect = el.timeline.getBoundingClientRect();
    seekTo(Math.max(0, Math.min(1, (e.clientX - rect.left) / rect.width)) * v.duration);
  });
  el.box.addEventListener("click", (e) => {
    if (e.target.tagName === "VIDEO" && !("ontouchstart" in window)) togglePlay();
  });
  bindTouch();
  bindRendered();
  bindTextPanel();
  $("btn-prev").addEventListener("click", (e) => previous(e));
  $("btn-next").addEventListener("click", (e) => skip(e));
  $("btn-play").addEventListener("click", togglePlay);
  $("btn-mute").addEventListener("click", () => setMuted(!S.muted));
  $("btn-accept").addEventListener("click", (e) => acceptPrediction(e));
  $("btn-undo").addEventListener("click", undo);
  $("broken-skip").addEventListener("click", (e) => skip(e));
  $("new-folder").addEventListener("click", () => openFolderDialog(null));
  $("help-button").addEventListener("click", () => toggleHelp(true));
  $("help-close").addEventListener("click", () => toggleHelp(false));
  el.help.addEventListener("click", (e) => { if (e.target === el.help) toggleHelp(false); });
  $("folder-cancel").addEventListener("click", closeFolderDialog);
  el.folderForm.addEventListener("submit", saveFolder);
  el.retrain.addEventListener("click", startRetrain);
  $("complete-retrain").addEventListener("click", startRetrain);
  $("complete-review").addEventListener("click", reviewUnplayable);
  $("complete-again").addEventListener("click", checkAgain);
  el.order.addEventListener("change", () => {
    const order = el.order.value;
    el.order.blur();
    changeOrder(order);
  });
  for (const button of document.querySelectorAll(".controls button")) {
    button.addEventListener("mouseup", () => button.blur()); // keys stay with the player
  }
}
