// What the person does to the queue: sort, accept, skip, previous, undo, reorder.

import { api } from "../http.js";
import { toast } from "../toast.js";
import { refetchQueue, refreshStatsSoon } from "./queue.js";
import { renderCounter, renderFolders, renderItem } from "./render.js";
import {
  S, adopt, enqueue, folderById, folderByKey, mergeFolders, prevOpen,
} from "./state.js";
import { teamAnswer, teamUndo } from "./team.js";
import { advance, dropVideo, preloadAround, show, showComplete } from "./video.js";

// The next video shows at once and the request runs in the background; a refusal shows a
// message and brings the video back.
export function sortInto(folder, event) {
  const item = S.cur;
  if (!item || item.state !== "open") return;
  if (S.team.kind) { teamAnswer(item, folder, event); return; }
  const startedAt = event && event.timeStamp ? event.timeStamp : performance.now();
  item.state = "pending";
  item.target = folder ? folder.id : null;
  S.sortedHere++;
  advance(item, startedAt);
  enqueue(async () => {
    try {
      const r = await api("POST", "/api/sort", {
        video: item.id, folder: folder ? folder.id : null,
        expected_folder: item.folder_id == null ? null : item.folder_id, route: "player",
      });
      item.state = "done";
      item.event = r.event;
      if (item.folder_id == null && folder && item.status === "ok") S.serverRemaining = Math.max(0, S.serverRemaining - 1);
      item.folder_id = folder ? folder.id : null;
      if (Array.isArray(r.folders)) mergeFolders(r.folders);
      dropVideo(item.id);
      refreshStatsSoon();
    } catch (err) {
      item.state = "open";
      S.sortedHere--;
      toast(`Could not move ${item.filename} to ${folder ? folder.name : "unsorted"}: ${err.detail}`, { level: "error" });
      show(item); // the video comes back
      return;
    } finally {
      renderFolders();
      renderCounter();
    }
  });
}

export function sortIntoKey(key, event) {
  const folder = folderByKey(key);
  if (!folder) { toast(`No folder on key ${key}. Press N to create one.`); return; }
  sortInto(folder, event);
}

export function acceptPrediction(event) {
  const item = S.cur;
  if (!item) return;
  const folder = item.predicted_folder_id != null ? folderById(item.predicted_folder_id) : null;
  if (!folder) { toast("This video has no prediction yet: press a folder key, or retrain."); return; }
  sortInto(folder, event);
}

export function skip(event) {
  if (S.cur) advance(S.cur, event && event.timeStamp);
}

export function previous(event) {
  const item = S.cur;
  const prev = item ? prevOpen(item) : [...S.items].reverse().find((i) => i.state === "open");
  if (prev) show(prev, { startedAt: event && event.timeStamp });
  else toast("This is the first video.");
}

// In the chain, so it undoes the latest sort even when that one is still on its way.
export function undo() {
  if (S.team.kind) { teamUndo(); return; }
  const note = toast("Undoing…");
  enqueue(async () => {
    let r;
    try {
      r = await api("POST", "/api/undo", {});
    } catch (err) {
      note.remove();
      toast("Nothing undone: " + err.detail, { level: "error" });
      return;
    }
    note.remove();
    if (Array.isArray(r.folders)) mergeFolders(r.folders);
    let fresh = null;
    try { fresh = await api("GET", `/api/videos/${r.video}`); } catch (_) { /* shown below */ }
    const item = fresh ? adopt(fresh) : S.byId.get(r.video);
    if (!item) return;
    if (fresh && fresh.folder_id == null) {
      if (item.state === "done") S.sortedHere = Math.max(0, S.sortedHere - 1);
      item.state = "open";
      item.broken = null;
      S.serverRemaining = (S.serverRemaining || 0) + 1;
      // It comes back as the current video, just before the one on screen.
      const at = S.items.indexOf(item);
      if (at >= 0) S.items.splice(at, 1);
      const here = S.cur ? S.items.indexOf(S.cur) : S.items.length;
      S.items.splice(here < 0 ? S.items.length : here, 0, item);
      show(item);
      toast(`Undone: ${item.filename} is back in the queue.`);
    } else {
      toast(`Undone: ${item.filename} is back in ${fresh ? fresh.folder || "its folder" : "its folder"}.`);
      renderFolders();
    }
    renderCounter();
    refreshStatsSoon();
  });
}

// New order or new predictions: refetch the queue, keeping the video on screen.
export function reloadQueue() {
  refetchQueue().then(() => {
    const open = S.items.filter((i) => i.state === "open");
    if (S.cur && open.includes(S.cur)) {
      // Put the current one first so the new order follows it.
      S.items.splice(S.items.indexOf(S.cur), 1);
      const firstOpen = S.items.findIndex((i) => i.state === "open");
      S.items.splice(firstOpen < 0 ? S.items.length : firstOpen, 0, S.cur);
      renderItem(S.cur);
      preloadAround(S.cur);
    } else if (open.length) {
      show(open[0]);
    } else {
      showComplete();
    }
  });
}

export async function changeOrder(order) {
  try {
    await api("PUT", "/api/preferences", { queue_order: order });
  } catch (err) {
    toast("Could not save the queue order: " + err.detail, { level: "error" });
  }
  S.order = order;
  reloadQueue();
}

// From the done screen: the first unreadable file still in the library root.
export function reviewUnplayable() {
  const first = S.items.find((i) => i.state === "open" && i.status !== "ok");
  if (first) show(first);
}
