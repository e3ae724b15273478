// The player's state object, its config and request chain, and small queries over them.

export const cfg = JSON.parse(document.getElementById("player-config").textContent);

// Team mode (docs/player.md): a labeller's keys vote on the videos of a batch, a reviewer's
// decide disputed videos. Anyone else, and everyone outside team mode, sorts as one person.
const TEAM_KIND = { labeller: "labeller", reviewer: "reviewer", owner: "reviewer" };
export const teamKind = cfg.teamMode ? TEAM_KIND[cfg.role] || null : null;

export const S = {
  folders: [],            // [{id, name, count, key, prompts}] as the server last said
  items: [],              // queue items in server order; item.state: open | pending | done
  byId: new Map(),
  cur: null,
  nav: 0,                 // bumped by every show(): lets async steps see they were overtaken
  order: cfg.queueOrder,
  exhausted: false,       // the server has no further page of playable videos
  unplayableLoaded: false,
  serverRemaining: null,  // unsorted playable videos, as of the last count
  startTotal: 0,
  sortedHere: 0,
  muted: false,
  chain: Promise.resolve(),
  statsQueued: false,
  retrainPoll: null,
  retrainWasRunning: false,
  videos: new Map(),      // item id -> <video>
  metrics: { switches: [], lastSwitchMs: null },
  // Team mode: the labeller's open batch {id, token, size, ids}, how many of its videos
  // were answered here, why no batch or review item can be had (shown on the done screen).
  team: { kind: teamKind, batch: null, answered: 0, blocked: null },
};

// Every request that changes or counts the queue runs through this one chain, so sorts,
// undos, page fetches and count refreshes never overtake each other (an undo typed right
// after a sort undoes that sort, not the one before). The chain survives failures.
export function enqueue(fn) {
  const run = S.chain.then(fn);
  S.chain = run.catch(() => {});
  return run;
}

// --- Queue items ---------------------------------------------------------------------

export function adopt(data) {
  let item = S.byId.get(data.id);
  if (item) {
    Object.assign(item, data);
  } else {
    item = Object.assign({ state: "open", broken: null }, data);
    S.byId.set(item.id, item);
  }
  return item;
}

export function nextOpen(from) {
  const start = from ? S.items.indexOf(from) + 1 : 0;
  for (let i = start; i < S.items.length; i++) if (S.items[i].state === "open") return S.items[i];
  return null;
}

export function prevOpen(from) {
  for (let i = S.items.indexOf(from) - 1; i >= 0; i--) if (S.items[i].state === "open") return S.items[i];
  return null;
}

export const pendingItems = () => S.items.filter((i) => i.state === "pending");
export const pendingPlayable = () => pendingItems().filter((i) => i.status === "ok");
export const isLow = (item) => item.confidence != null && item.confidence < cfg.lowConfidence;

// --- Folders -------------------------------------------------------------------------

export const folderById = (id) => S.folders.find((f) => f.id === id) || null;
export const folderByKey = (key) => S.folders.find((f) => f.key === key) || null;

// The server's count, corrected for sorts still on their way.
export const countOf = (f) => f.count + pendingItems().filter((i) => i.target === f.id).length
                                     - pendingItems().filter((i) => i.folder_id === f.id).length;

export function mergeFolders(list) {
  S.folders = list.map((f) => Object.assign({ prompts: [] }, folderById(f.id) || {}, f));
  S.folders.sort((a, b) => (a.key || 99) - (b.key || 99) || a.name.localeCompare(b.name));
}
