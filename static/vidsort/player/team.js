// Team mode's actions (docs/player.md): a labeller's key is a vote on the batch's video, a
// reviewer's key decides a disputed video. Both are optimistic like a sort: the next video
// shows at once, the request runs in the chain, a refusal brings the video back.

import { api } from "../http.js";
import { toast } from "../toast.js";
import { fetchPage, loadFolders, refreshStatsSoon } from "./queue.js";
import { renderCounter, renderFolders } from "./render.js";
import { el } from "./dom.js";
import { S, cfg, enqueue, mergeFolders, nextOpen } from "./state.js";
import { showBatchNote } from "./teamrender.js";
import { errorMessage } from "./teamqueue.js";
import { advance, dropVideo, show, showComplete } from "./video.js";

// The page in team mode: the server orders the work (no queue order); a labeller neither
// retrains nor edits folders (reviewers do); the help says what a key does here.
export function teamSetUp() {
  const labeller = S.team.kind === "labeller";
  el.player.dataset.team = S.team.kind;
  document.getElementById("order-label").hidden = true;
  if (labeller) {
    el.retrain.closest(".retrain").style.display = "none";
    document.getElementById("new-folder").hidden = true;
  }
  const help = (name, text) => {
    const cell = document.querySelector(`.shortcuts tr[data-help="${name}"] td:last-child`);
    if (cell) cell.textContent = text;
  };
  help("file", labeller
    ? "Vote: the video belongs in the folder with that key (it moves once decided)"
    : "Decide: the disputed video goes into the folder with that key");
  help("undo", labeller ? "Withdraw your last vote (while its video is undecided)" : "Decisions are final");
}

const ENDED = {
  accepted: "Batch accepted: your answers count.",
  discarded: "Batch discarded: a gold answer was wrong, this batch does not count.",
};

async function sendVote(item, folder) {
  const b = S.team.batch;
  if (!b || item.batch !== b.id) throw new Error("this video's batch is closed");
  const r = await api("POST", `/api/batches/${b.id}/answers`, {
    token: b.token, answers: [{ video: item.id, folder: folder.id }],
  });
  // The server's count is the truth; answers still on their way come on top of it.
  const later = S.items.filter((i) => i !== item && i.batch === b.id && i.state === "pending").length;
  if (typeof r.answered === "number") S.team.answered = r.answered + later;
  if (r.state && r.state !== "open") {
    const message = ENDED[r.state] || r.message || `Batch ${r.state}.`;
    showBatchNote(r.state, message);
    toast(message, { level: r.state === "discarded" ? "error" : "info", ms: 5000 });
    S.team.answered = b.size;
    batchClosed(b.id);
  }
  if (Array.isArray(r.decided) && r.decided.length) loadFolders().catch(() => {});
  return r;
}

// A batch taken up again after a reload lists every video, answered or not: when it
// closes, the ones shown again but not answered here are done too.
function batchClosed(id) {
  const left = S.items.filter((i) => i.batch === id && i.state === "open");
  for (const i of left) i.state = "done";
  if (S.cur && left.includes(S.cur)) advance(S.cur);
}

async function sendDecision(item, folder) {
  const r = await api("POST", "/api/decisions", { video: item.id, folder: folder.id, library: cfg.library });
  item.folder_id = folder.id;
  if (r && Array.isArray(r.folders)) mergeFolders(r.folders);
  else await loadFolders().catch(() => {});
  refreshStatsSoon();
  return r;
}

export function teamAnswer(item, folder, event) {
  if (!folder) { toast("In team mode an answer names a folder."); return; }
  const labeller = S.team.kind === "labeller";
  const startedAt = event && event.timeStamp ? event.timeStamp : performance.now();
  item.state = "pending";
  item.target = labeller ? undefined : folder.id; // a vote moves nothing; a decision does
  if (labeller) S.team.answered++;
  S.sortedHere++;
  advance(item, startedAt);
  renderCounter();
  enqueue(async () => {
    try {
      await (labeller ? sendVote(item, folder) : sendDecision(item, folder));
      item.state = "done";
      dropVideo(item.id);
    } catch (err) {
      item.state = "open";
      item.target = undefined;
      if (labeller) S.team.answered--;
      S.sortedHere--;
      const what = labeller ? "vote" : "decide";
      toast(`Could not ${what} ${item.filename} (${folder.name}): ${errorMessage(err)}`, { level: "error" });
      show(item);
    } finally {
      renderFolders();
      renderCounter();
    }
  });
}

// A labeller withdraws their last vote while its video is undecided; a video of the open
// batch comes back on screen to be answered again.
export function teamUndo() {
  if (S.team.kind !== "labeller") {
    toast("A decision is final: the file has moved. Move it back from the folder's gallery.");
    return;
  }
  enqueue(async () => {
    let r;
    try {
      r = await api("POST", "/api/votes/undo", { library: cfg.library });
    } catch (err) {
      toast("Nothing undone: " + errorMessage(err), { level: "error" });
      return;
    }
    const id = r && (r.video ?? (r.vote && r.vote.video));
    const item = S.byId.get(id);
    const name = item ? item.filename : `video ${id}`;
    // A withdrawn answer of the open batch is one answer fewer, whether it was given on
    // this page or before a reload (then its video is still on the list, open).
    const open = S.team.batch && (r.batch ?? (item && item.batch)) === S.team.batch.id;
    if (open) S.team.answered = Math.max(0, S.team.answered - 1);
    if (item && open && item.state === "done") {
      item.state = "open";
      S.sortedHere = Math.max(0, S.sortedHere - 1);
      const at = S.items.indexOf(item);
      S.items.splice(at, 1);
      const here = S.cur ? S.items.indexOf(S.cur) : -1;
      S.items.splice(here < 0 ? S.items.length : here, 0, item);
      show(item);
      toast(`Vote withdrawn: ${name} is back.`);
    } else {
      toast(`Vote on ${name} withdrawn.`);
    }
    renderCounter();
  });
}

// From the done screen: ask the server again (a new batch, new disputes).
export function checkAgain() {
  S.exhausted = false;
  S.team.blocked = null;
  enqueue(fetchPage).then(() => {
    const next = nextOpen(null);
    if (next) show(next); else showComplete();
  }).catch((err) => {
    toast("Could not ask again: " + errorMessage(err), { level: "error" });
    showComplete();
  });
}
