// Team mode's queue (docs/player.md): a labeller's batches, a reviewer's disputed videos.

// Runs in the request chain like fetchPage (queue.js), which hands over to it in team mode:
// every answer sent before has landed, so the server has closed a finished batch by then.

import { api } from "../http.js";
import { S, adopt, cfg } from "./state.js";

// The API's error code and message, whichever of its two shapes the body has.
export function errorCode(err) {
  const e = err && err.data && err.data.error;
  return e && typeof e === "object" ? e.code : e || (err && err.code) || "";
}

export function errorMessage(err) {
  const data = err && err.data;
  const e = data && data.error;
  if (e && typeof e === "object" && e.message) return e.message;
  return (data && (data.detail || data.message)) || (err && err.detail) || String(err);
}

const BLOCKED = {
  not_enough_gold: "No batch can be handed out: the library has too few gold-standard videos. A reviewer marks more as gold.",
  not_team_mode: "This library is no longer in team mode: reload the page.",
};

export function fetchTeamPage() {
  return S.team.kind === "reviewer" ? fetchReview() : fetchBatch();
}

// A labeller's next batch, once every video of the open one is answered (its skipped
// videos come back first). The server says why when it has none to give.
async function fetchBatch() {
  const open = S.team.batch;
  if (open && S.team.answered < open.size) return 0;
  let data;
  try {
    data = await api("POST", "/api/batches", { library: cfg.library });
  } catch (err) {
    const code = errorCode(err);
    if (err.status !== 409 && err.status !== 404) throw err;
    S.team.blocked = { code, message: errorMessage(err) || BLOCKED[code] || code };
    S.exhausted = true;
    return 0;
  }
  S.team.blocked = null;
  const videos = data.videos || [];
  S.team.batch = { id: data.id, token: data.token, size: data.size || videos.length, ids: videos.map((v) => v.id) };
  // A batch taken up again after a reload lists every video with how many are answered,
  // not which: all come again, and answering one again only changes its answer.
  S.team.answered = data.answered || 0;
  let added = 0;
  for (const v of videos) {
    const item = adopt(v);
    item.batch = data.id;
    item.target = undefined;
    item.state = "open";
    if (!S.items.includes(item)) S.items.push(item);
    added++;
  }
  if (!videos.length) {
    S.exhausted = true;
    S.team.blocked = { code: "empty", message: data.message || "Nothing left to vote on: every video has its votes." };
  }
  return added;
}

// A reviewer's disputed videos, each with its votes beside the prediction.
async function fetchReview() {
  const data = await api("GET", `/api/review?library=${encodeURIComponent(cfg.library)}`);
  const videos = Array.isArray(data) ? data : data.videos || data.results || [];
  let added = 0;
  for (const v of videos) {
    const known = S.byId.get(v.id);
    if (known && S.items.includes(known)) { adopt(v); continue; }
    S.items.push(adopt(v));
    added++;
  }
  S.exhausted = true; // the whole queue comes at once; "check again" asks anew
  S.team.blocked = videos.length ? null : { code: "no_disputes", message: "No disputed videos wait for a decision." };
  return added;
}

// The votes on one video, for a reviewer looking at a video the review queue did not bring.
export async function fetchVotes(item) {
  const data = await api("GET", `/api/videos/${item.id}/votes`);
  item.votes = data.votes || [];
  item.decision = data.decision || null;
  return item;
}
