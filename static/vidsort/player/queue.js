// Reads that fill the queue: pages of videos in the chosen order, folders, counts.

import { api } from "../http.js";
import { toast } from "../toast.js";
import { renderCounter, renderFolders, renderStats } from "./render.js";
import { S, adopt, cfg, enqueue, mergeFolders } from "./state.js";
import { fetchTeamPage } from "./teamqueue.js";

// Runs in the chain: every earlier sort has landed, none later has been sent, so the
// server's unsorted rows are exactly our open and pending items plus the unseen ones,
// and `offset` = how many of those we hold. Ids we already hold are skipped, so an
// order that shifts a little between pages costs nothing worse than a retry from 0.
export async function fetchPage({ fromStart = false } = {}) {
  if (S.exhausted) return 0;
  if (S.team.kind) return fetchTeamPage();
  const held = S.items.filter((i) => i.status === "ok" && i.state !== "done").length;
  const offsets = fromStart || !held ? [0] : [held, 0];
  let added = 0;
  let more = false;
  for (const offset of offsets) {
    const data = await api("GET", `/api/videos?order=${encodeURIComponent(S.order)}&limit=${cfg.pageSize}&offset=${offset}`);
    S.serverRemaining = data.total;
    for (const v of data.videos) {
      const known = S.byId.get(v.id);
      if (known && S.items.includes(known)) continue;
      S.items.push(adopt(v));
      added++;
    }
    more = !!data.next;
    if (added) break;
  }
  if (!added || !more) {
    S.exhausted = true;
    await fetchUnplayable();
  }
  return added;
}

// Unreadable files in the root (status "unreadable" from the scan) come after the
// playable queue, so they can be filed anyway; each shows its reason.
async function fetchUnplayable() {
  if (S.unplayableLoaded) return;
  S.unplayableLoaded = true;
  try {
    const data = await api("GET", "/api/videos?status=unreadable&folder=unsorted&order=filename&limit=100");
    for (const v of data.videos) if (!S.byId.has(v.id)) S.items.push(adopt(v));
  } catch (err) {
    toast("Could not list unreadable videos: " + err.detail, { level: "error" });
  }
}

export function needMore(from) {
  if (S.team.kind) return false; // a batch or the review queue comes whole, when it is done
  let ahead = 0;
  for (let i = S.items.indexOf(from) + 1; i < S.items.length; i++) if (S.items[i].state === "open") ahead++;
  return ahead < 5 && !S.exhausted;
}

let fetching = null;
export function fetchMoreSoon() {
  if (!fetching) fetching = enqueue(fetchPage).finally(() => { fetching = null; });
  return fetching;
}

// New order or new predictions: drop the open items but the one on screen and fetch from
// the start, in the chain. The caller puts the result on screen.
export function refetchQueue() {
  // A labeller's batch stays as it was handed out: the server chose its videos.
  if (S.team.kind === "labeller") return Promise.resolve();
  return enqueue(async () => {
    const keep = S.cur;
    S.items = S.items.filter((i) => i.state !== "open" || i === keep);
    S.exhausted = false;
    S.unplayableLoaded = false;
    for (const id of [...S.byId.keys()]) if (!S.items.includes(S.byId.get(id))) S.byId.delete(id);
    try {
      await fetchPage({ fromStart: true });
      if (keep) {
        const fresh = await api("GET", `/api/videos/${keep.id}`).catch(() => null);
        if (fresh) adopt(fresh);
      }
    } catch (err) {
      toast("Could not load the queue: " + err.detail, { level: "error" });
    }
  });
}

export async function loadFolders() {
  const data = await api("GET", "/api/folders");
  mergeFolders(data.folders);
  if (S.serverRemaining == null && typeof data.unsorted === "number") S.serverRemaining = data.unsorted;
  renderFolders();
}

export function refreshStatsSoon() {
  if (S.statsQueued) return;
  S.statsQueued = true;
  setTimeout(() => enqueue(async () => {
    S.statsQueued = false;
    try {
      const stats = await api("GET", "/api/stats");
      // Inside the chain: no sort is in flight, so this count and our pending ones add up.
      S.serverRemaining = stats.unsorted;
      renderStats(stats);
      renderCounter();
    } catch (_) { /* the next refresh will try again */ }
  }), 400);
}
