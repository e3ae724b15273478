// The player's entry point: binds the input, loads the first page, shows the first video.

// Plain JavaScript modules, no build step, on the same JSON API scripts use. Three ideas
// keep it fast: the next two videos are preloaded (video.js), a sort is optimistic
// (actions.js), and every request that changes or counts the queue runs through one
// promise chain (state.js), so they never overtake each other.

import { toast } from "../toast.js";
import { el } from "./dom.js";
import { bindInput } from "./input.js";
import "./phone.js"; // the phone layout: prediction over the video, details sheet
import { fetchPage, loadFolders, refreshStatsSoon } from "./queue.js";
import { pollRetrain } from "./retrain.js";
import { savedStartTotal } from "./session.js";
import { S, enqueue, nextOpen } from "./state.js";
import { teamSetUp } from "./team.js";
import { show, showComplete } from "./video.js";

async function start() {
  bindInput();
  if (S.team.kind) teamSetUp();
  window.vidsort = { state: S, metrics: S.metrics }; // for the browser tests and the console
  try {
    await Promise.all([loadFolders(), enqueue(fetchPage)]);
  } catch (err) {
    el.loading.textContent = "Could not load the queue: " + err.detail;
    el.player.dataset.state = "error";
    toast("Could not load the queue: " + err.detail, { level: "error" });
    return;
  }
  S.startTotal = Math.max(S.serverRemaining || 0, savedStartTotal());
  const first = nextOpen(null);
  if (first) show(first); else showComplete();
  refreshStatsSoon();
  pollRetrain(false);
}

start();
