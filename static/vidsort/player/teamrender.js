// Team mode's panels (docs/player.md): the batch counter, the votes beside the prediction,
// the note at a batch's end and the done screen's reason.

import { $, el } from "./dom.js";
import { S, folderById } from "./state.js";

const team = {
  votes: $("votes"), voteList: $("vote-list"), note: $("team-note"),
  completeTitle: $("complete-title"), completeTeam: $("complete-team"), again: $("complete-again"),
  phone: $("phone-team"), // the same, one line over the video on a phone
};

// Labeller: "batch 3/16", the place of the video on screen; the bar fills with answers.
// Reviewer: how many disputed videos are left.
export function renderTeamCounter() {
  if (S.team.kind === "labeller") {
    const b = S.team.batch;
    if (!b) {
      el.counter.textContent = S.team.blocked ? "no batch" : "batch –";
      el.progressBar.style.width = "0";
      return;
    }
    const answered = Math.min(S.team.answered, b.size);
    el.counter.textContent = `batch ${Math.min(answered + 1, b.size)}/${b.size}`;
    if (team.phone) team.phone.textContent = el.counter.textContent;
    el.counter.dataset.answered = answered;
    el.counter.dataset.size = b.size;
    el.counter.dataset.batch = b.id;
    el.progressBar.style.width = (b.size ? 100 * answered / b.size : 0).toFixed(1) + "%";
  } else {
    const left = S.items.filter((i) => i.state === "open").length;
    const done = S.items.length - left;
    el.counter.textContent = `${left} disputed left`;
    el.counter.dataset.remaining = left;
    el.progressBar.style.width = (S.items.length ? 100 * done / S.items.length : 0).toFixed(1) + "%";
  }
}

// A vote's folder id: {folder_id, folder: name} from the API.
const voteFolder = (v) => (v.folder_id != null ? v.folder_id : typeof v.folder === "number" ? v.folder : null);

function folderLabel(id, name) {
  const f = folderById(id);
  if (!f) return name || (id == null ? "unsorted" : `folder ${id}`);
  return (f.key ? f.key + " " : "") + f.name;
}

// A reviewer sees who voted for which folder, beside the prediction.
export function renderVotes(item) {
  const show = S.team.kind === "reviewer" && !!item;
  team.votes.hidden = !show;
  if (!show) {
    team.voteList.replaceChildren();
    if (team.phone && S.team.kind === "reviewer") team.phone.textContent = "";
    return;
  }
  const votes = item.votes || [];
  const rows = votes.map((v) => {
    const li = document.createElement("li");
    li.className = "vote";
    const folderId = voteFolder(v);
    li.dataset.folder = folderId;
    li.dataset.user = v.user;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = v.username || `user ${v.user}`;
    const where = document.createElement("span");
    where.className = "where";
    where.textContent = folderLabel(folderId, typeof v.folder === "string" ? v.folder : null);
    if (item.predicted_folder_id != null && folderId === item.predicted_folder_id) li.classList.add("agrees");
    li.append(who, where);
    return li;
  });
  if (!rows.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "No votes.";
    rows.push(li);
  }
  team.voteList.replaceChildren(...rows);
  if (team.phone) {
    team.phone.textContent = votes.length
      ? "Votes: " + votes.map((v) => `${v.username || "user " + v.user} → ${folderLabel(voteFolder(v), v.folder)}`).join(" · ")
      : "No votes";
  }
}

// How many votes each folder has on this video, for the folder buttons.
export function voteCounts(item) {
  const counts = new Map();
  if (S.team.kind !== "reviewer" || !item || !item.votes) return counts;
  for (const v of item.votes) {
    const id = voteFolder(v);
    counts.set(id, (counts.get(id) || 0) + 1);
  }
  return counts;
}

// The end of a batch: accepted or discarded, said until the next batch ends.
export function showBatchNote(state, message) {
  team.note.hidden = false;
  team.note.dataset.state = state;
  team.note.textContent = message;
}

// The done screen in team mode says why there is nothing to do, with a way to ask again.
export function renderTeamComplete() {
  const blocked = S.team.blocked;
  const reviewer = S.team.kind === "reviewer";
  team.completeTitle.textContent = reviewer
    ? "No disputed videos left"
    : blocked ? "No batch for you now" : "All batches answered";
  el.completeTotals.textContent = reviewer
    ? `You decided ${S.sortedHere} video${S.sortedHere === 1 ? "" : "s"} in this session.`
    : `You answered ${S.sortedHere} video${S.sortedHere === 1 ? "" : "s"} in this session.`;
  team.completeTeam.hidden = !blocked;
  team.completeTeam.dataset.code = blocked ? blocked.code : "";
  team.completeTeam.textContent = blocked ? blocked.message : "";
  team.again.hidden = false;
  $("complete-retrain").hidden = !reviewer;
}
