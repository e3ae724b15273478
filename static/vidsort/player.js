/* VidSort player: keyboard-first sorting of the unsorted queue.
 *
 * Plain JavaScript, no build step. Everything comes from the JSON API (/api/...), the
 * same one scripts use. Three ideas keep it fast:
 *  - the next one or two videos are preloaded in hidden <video preload="auto"> elements,
 *    so "next" only swaps which element is visible and calls play();
 *  - a sort is optimistic: the next video shows at once and the request runs in the
 *    background; a failure shows a message and brings the video back;
 *  - every request that changes or counts the queue runs through one promise chain, so
 *    sorts, undos, page fetches and count refreshes never overtake each other (an undo
 *    typed right after a sort undoes that sort, not the one before).
 */
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("player-config").textContent);
  const $ = (id) => document.getElementById(id);
  const el = {
    player: $("player"), folders: $("folders"), box: $("video-box"), loading: $("loading"),
    message: $("video-message"), messageTitle: $("video-message-title"),
    messageReason: $("video-message-reason"), muteBadge: $("mute-badge"),
    complete: $("complete"), completeTotals: $("complete-totals"),
    completeUnplayable: $("complete-unplayable"), played: $("played"), segments: $("segments"),
    timeline: $("timeline"), filename: $("filename"), meta: $("meta"), prediction: $("prediction"),
    top3: $("top3"), counter: $("counter"), progressBar: $("progress-bar"), order: $("order"),
    retrain: $("retrain"), retrainStatus: $("retrain-status"), retrainBar: $("retrain-bar"),
    retrainBarWrap: $("retrain-bar-wrap"), lastRetrain: $("last-retrain"),
    liveAccuracy: $("live-accuracy"), toasts: $("toasts"), help: $("help"),
    folderDialog: $("folder-dialog"), folderForm: $("folder-form"),
  };

  const STAGES = { scan: "Scanning the library", extract: "Extracting features",
                   train: "Training", predict: "Predicting" };
  const MEDIA_ERRORS = {
    1: "loading was aborted",
    2: "a network error interrupted the download",
    3: "the file is corrupt or uses features the browser cannot decode",
    4: "the file is missing, or its format or codec is not supported by this browser",
  };
  const PRELOAD_AHEAD = 2;

  const S = {
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
  };

  // --- HTTP -------------------------------------------------------------------------

  const { api } = window.VidSortHttp;

  // Runs fn after everything queued before it; the chain survives failures.
  function enqueue(fn) {
    const run = S.chain.then(fn);
    S.chain = run.catch(() => {});
    return run;
  }

  // --- Messages ---------------------------------------------------------------------

  function toast(text, { level = "info", ms = 2500 } = {}) {
    const node = document.createElement("div");
    node.className = "toast " + level;
    node.setAttribute("role", level === "error" ? "alert" : "status");
    node.textContent = text;
    if (level === "error") {
      const close = document.createElement("button");
      close.type = "button"; close.className = "close"; close.textContent = "×";
      close.setAttribute("aria-label", "Dismiss");
      close.addEventListener("click", () => node.remove());
      node.appendChild(close);
      ms = Math.max(ms, 8000);
    }
    el.toasts.appendChild(node);
    setTimeout(() => node.remove(), ms);
    return node;
  }

  // --- Formatting -------------------------------------------------------------------

  const pct = (x, digits = 0) => (x * 100).toFixed(digits) + " %";
  function seconds(s) {
    if (s == null || !isFinite(s)) return "";
    if (s < 60) return s.toFixed(1) + " s";
    return Math.floor(s / 60) + ":" + String(Math.round(s % 60)).padStart(2, "0");
  }
  const isLow = (item) => item.confidence != null && item.confidence < cfg.lowConfidence;
  const folderById = (id) => S.folders.find((f) => f.id === id) || null;
  const folderByKey = (key) => S.folders.find((f) => f.key === key) || null;

  // --- Queue ------------------------------------------------------------------------

  function adopt(data) {
    let item = S.byId.get(data.id);
    if (item) {
      Object.assign(item, data);
    } else {
      item = Object.assign({ state: "open", broken: null }, data);
      S.byId.set(item.id, item);
    }
    return item;
  }

  function nextOpen(from) {
    const start = from ? S.items.indexOf(from) + 1 : 0;
    for (let i = start; i < S.items.length; i++) if (S.items[i].state === "open") return S.items[i];
    return null;
  }

  function prevOpen(from) {
    for (let i = S.items.indexOf(from) - 1; i >= 0; i--) if (S.items[i].state === "open") return S.items[i];
    return null;
  }

  const pendingItems = () => S.items.filter((i) => i.state === "pending");
  const pendingPlayable = () => pendingItems().filter((i) => i.status === "ok");

  // Runs in the chain: every earlier sort has landed, none later has been sent, so the
  // server's unsorted rows are exactly our open and pending items plus the unseen ones,
  // and `offset` = how many of those we hold. Ids we already hold are skipped, so an
  // order that shifts a little between pages costs nothing worse than a retry from 0.
  async function fetchPage({ fromStart = false } = {}) {
    if (S.exhausted) return 0;
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

  function needMore(from) {
    let ahead = 0;
    for (let i = S.items.indexOf(from) + 1; i < S.items.length; i++) if (S.items[i].state === "open") ahead++;
    return ahead < 5 && !S.exhausted;
  }

  let fetching = null;
  function fetchMoreSoon() {
    if (!fetching) fetching = enqueue(fetchPage).finally(() => { fetching = null; });
    return fetching;
  }

  // --- Video elements ---------------------------------------------------------------

  function videoFor(item) {
    let v = S.videos.get(item.id);
    if (v) return v;
    v = document.createElement("video");
    v.className = "clip";
    v.preload = "auto";
    v.loop = true;
    v.playsInline = true;
    v.setAttribute("playsinline", "");
    v.muted = S.muted;
    v.dataset.id = item.id;
    v.hidden = true;
    v.addEventListener("error", () => {
      const code = v.error ? v.error.code : 0;
      item.broken = MEDIA_ERRORS[code] || "the browser could not play it";
      if (S.cur === item) showBroken(item);
    });
    v.addEventListener("timeupdate", () => { if (S.cur === item) drawPlayed(v); });
    v.addEventListener("play", () => { if (S.cur === item) $("btn-play").textContent = "Pause"; });
    v.addEventListener("pause", () => { if (S.cur === item) $("btn-play").textContent = "Play"; });
    v.addEventListener("loadedmetadata", () => { if (S.cur === item) renderTimeline(item); });
    if (item.status === "ok") v.src = item.url;
    el.box.insertBefore(v, el.box.firstChild);
    S.videos.set(item.id, v);
    return v;
  }

  function dropVideo(id) {
    const v = S.videos.get(id);
    if (!v) return;
    v.pause();
    v.removeAttribute("src");
    v.load(); // releases the connection and the decoder
    v.remove();
    S.videos.delete(id);
  }

  function preloadAround(item) {
    const keep = new Set([item.id]);
    let next = item;
    for (let n = 0; n < PRELOAD_AHEAD; n++) {
      next = nextOpen(next);
      if (!next) break;
      keep.add(next.id);
      videoFor(next);
    }
    const prev = prevOpen(item);
    if (prev) keep.add(prev.id);
    for (const id of [...S.videos.keys()]) if (!keep.has(id)) dropVideo(id);
  }

  function currentVideo() {
    return S.cur ? S.videos.get(S.cur.id) || null : null;
  }

  function play(v, startedAt) {
    const attempt = v.play();
    if (!attempt) return;
    attempt.then(() => {
      if (startedAt != null) {
        const ms = performance.now() - startedAt;
        S.metrics.lastSwitchMs = ms;
        S.metrics.switches.push(ms);
      }
    }).catch((err) => {
      if (err.name === "NotAllowedError" && !v.muted) {
        // Autoplay with sound needs a user gesture first: start muted, say so.
        setMuted(true);
        play(v, startedAt);
      }
      // AbortError: we switched away before it started; nothing to do.
    });
  }

  // --- Showing a video --------------------------------------------------------------

  function show(item, { startedAt = null } = {}) {
    const old = currentVideo();
    if (old && (!item || old.dataset.id !== String(item.id))) {
      old.pause();
      old.hidden = true;
      old.classList.remove("current");
    }
    S.cur = item;
    S.nav++;
    el.complete.hidden = true;
    el.loading.hidden = true;
    if (!item) return;
    el.player.dataset.state = "playing";
    el.player.dataset.video = item.id;
    const v = videoFor(item);
    v.hidden = false;
    v.classList.add("current");
    v.muted = S.muted;
    if (item.status !== "ok" || item.broken) {
      showBroken(item);
    } else {
      el.message.hidden = true;
      play(v, startedAt);
    }
    renderItem(item);
    preloadAround(item);
    if (needMore(item)) {
      fetchMoreSoon().then(() => { if (S.cur === item) preloadAround(item); }).catch((err) => {
        toast("Could not load more videos: " + err.detail, { level: "error" });
      });
    }
  }

  function showBroken(item) {
    const unreadable = item.status !== "ok";
    el.messageTitle.textContent = unreadable ? "This file is not a playable video" : "This video cannot be played";
    el.messageReason.textContent = unreadable
      ? `The library scan marked it ${item.status}: ${item.error || "no reason recorded"}.`
      : `The browser stopped: ${item.broken}.`;
    el.message.hidden = false;
    el.player.dataset.state = "broken";
    const v = S.videos.get(item.id);
    if (v) v.pause();
  }

  function showComplete() {
    const old = currentVideo();
    if (old) { old.pause(); old.hidden = true; old.classList.remove("current"); }
    S.cur = null;
    el.player.dataset.state = "complete";
    delete el.player.dataset.video;
    el.message.hidden = true;
    el.loading.hidden = true;
    el.complete.hidden = false;
    const filed = S.folders.reduce((n, f) => n + countOf(f), 0);
    el.completeTotals.textContent =
      `You sorted ${S.sortedHere} video${S.sortedHere === 1 ? "" : "s"} in this session. ` +
      `${filed} videos are in ${S.folders.length} folders.`;
    const unplayable = S.items.filter((i) => i.status !== "ok" && i.state === "open").length;
    el.completeUnplayable.hidden = !unplayable;
    el.completeUnplayable.querySelector("span").textContent =
      `${unplayable} unplayable file${unplayable === 1 ? " remains" : "s remain"} in the library root.`;
    renderItem(null);
  }

  // After the current one is sorted or skipped: the next open one (fetching more if
  // needed), else the first skipped playable one, else the completion screen.
  async function advance(from, startedAt) {
    let next = nextOpen(from);
    if (!next && !S.exhausted) {
      const nav = S.nav;
      el.loading.hidden = false;
      try {
        await fetchMoreSoon();
      } catch (err) {
        toast("Could not load more videos: " + err.detail, { level: "error" });
      }
      el.loading.hidden = true;
      if (S.nav !== nav) return; // something else was shown meanwhile (a failed sort, an undo)
      next = nextOpen(from);
    }
    if (!next) next = S.items.find((i) => i.state === "open" && i.status === "ok" && i !== from) || null;
    if (next) {
      show(next, { startedAt });
    } else if (from && from.state === "open" && from.status === "ok") {
      toast("This is the last video in the queue.");
    } else {
      showComplete();
    }
  }

  // --- Rendering --------------------------------------------------------------------

  const countOf = (f) => f.count + pendingItems().filter((i) => i.target === f.id).length
                                 - pendingItems().filter((i) => i.folder_id === f.id).length;

  function renderFolders() {
    const item = S.cur;
    const frag = document.createDocumentFragment();
    for (const f of S.folders) {
      const li = document.createElement("li");
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "folder";
      btn.dataset.folder = f.id;
      if (f.key) btn.dataset.key = f.key;
      btn.title = f.key ? `File into ${f.name} (${f.key})` : `File into ${f.name}`;
      const predicted = item && item.predicted_folder_id === f.id;
      if (predicted) {
        btn.classList.add("predicted");
        if (isLow(item)) btn.classList.add("low");
      }
      btn.innerHTML = `<kbd class="key"></kbd><span class="name"></span><span class="count"></span>`;
      btn.querySelector(".key").textContent = f.key || "·";
      btn.querySelector(".name").textContent = f.name;
      btn.querySelector(".count").textContent = countOf(f);
      if (predicted) {
        const tag = document.createElement("span");
        tag.className = "tag";
        tag.innerHTML = `<span class="word"></span>`;
        tag.firstChild.textContent = isLow(item) ? "uncertain " : "predicted ";
        tag.append(pct(item.confidence));
        btn.querySelector(".name").appendChild(tag);
      }
      btn.addEventListener("click", (e) => { btn.blur(); sortInto(f, e); });
      const edit = document.createElement("button");
      edit.type = "button"; edit.className = "edit"; edit.textContent = "✎";
      edit.title = `Rename ${f.name}, edit its prompts or key`;
      edit.setAttribute("aria-label", edit.title);
      edit.addEventListener("click", () => openFolderDialog(f));
      const gallery = document.createElement("a");
      gallery.className = "gallery-link"; gallery.href = `/gallery/${f.id}`; gallery.textContent = "▦";
      gallery.title = `Open the ${f.name} gallery`;
      gallery.setAttribute("aria-label", gallery.title);
      li.append(btn, edit, gallery);
      frag.appendChild(li);
    }
    el.folders.replaceChildren(frag);
  }

  function renderItem(item) {
    renderFolders();
    renderCounter();
    renderTimeline(item);
    if (!item) {
      el.filename.textContent = "–"; el.meta.textContent = ""; el.prediction.textContent = "";
      el.top3.replaceChildren();
      return;
    }
    el.filename.textContent = item.filename;
    el.filename.title = item.path;
    const dims = item.width && item.height ? `${item.width}×${item.height}` : "";
    el.meta.textContent = [seconds(item.duration), dims, item.source || ""].filter(Boolean).join(" · ");
    el.prediction.className = "prediction";
    if (item.predicted_folder) {
      const low = isLow(item);
      el.prediction.classList.toggle("low", low);
      el.prediction.innerHTML = "";
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = low ? `Uncertain (below ${pct(cfg.lowConfidence)})` : "Predicted";
      const name = document.createElement("strong");
      name.textContent = ` ${item.predicted_folder} · ${pct(item.confidence)}`;
      el.prediction.append(label, name);
    } else {
      el.prediction.textContent = "No prediction yet: retrain to get one.";
    }
    const rows = (item.top_predictions || []).slice(0, 3).map((t) => {
      const li = document.createElement("li");
      li.className = "top";
      li.dataset.folder = t.folder_id;
      li.dataset.confidence = t.confidence;
      const f = folderById(t.folder_id);
      li.innerHTML = `<span class="name"></span><span class="value"></span><div class="bar"><div></div></div>`;
      li.querySelector(".name").textContent = (f && f.key ? f.key + " " : "") + t.folder;
      li.querySelector(".value").textContent = pct(t.confidence, 1);
      li.querySelector(".bar > div").style.width = Math.max(0, Math.min(100, t.confidence * 100)) + "%";
      return li;
    });
    el.top3.replaceChildren(...rows);
  }

  function renderCounter() {
    if (S.serverRemaining == null) return;
    const remaining = Math.max(0, S.serverRemaining - pendingPlayable().length);
    S.startTotal = Math.max(S.startTotal, remaining);
    el.counter.textContent = `${remaining} / ${S.startTotal} remaining`;
    el.counter.dataset.remaining = remaining;
    const done = S.startTotal ? (S.startTotal - remaining) / S.startTotal : 1;
    el.progressBar.style.width = (done * 100).toFixed(1) + "%";
  }

  function renderTimeline(item) {
    el.segments.replaceChildren();
    el.played.style.width = "0";
    if (!item) return;
    const v = S.videos.get(item.id);
    const duration = item.duration || (v && isFinite(v.duration) ? v.duration : 0);
    if (!duration) return;
    for (const seg of item.segments || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "segment" + (seg.folder_id === item.predicted_folder_id ? " predicted" : "");
      const f = folderById(seg.folder_id);
      b.style.left = (100 * seg.start / duration).toFixed(2) + "%";
      b.style.width = Math.max(0.8, 100 * (seg.end - seg.start) / duration).toFixed(2) + "%";
      b.title = `${f ? f.name : "folder " + seg.folder_id}: ${seconds(seg.start)}–${seconds(seg.end)} (${pct(seg.score)})`;
      b.setAttribute("aria-label", b.title);
      b.addEventListener("click", (e) => { e.stopPropagation(); seekTo(seg.start); b.blur(); });
      el.segments.appendChild(b);
    }
  }

  function drawPlayed(v) {
    if (v.duration && isFinite(v.duration)) el.played.style.width = (100 * v.currentTime / v.duration) + "%";
  }

  // --- Actions ----------------------------------------------------------------------

  function sortInto(folder, event) {
    const item = S.cur;
    if (!item || item.state !== "open") return;
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

  function sortIntoKey(key, event) {
    const folder = folderByKey(key);
    if (!folder) { toast(`No folder on key ${key}. Press N to create one.`); return; }
    sortInto(folder, event);
  }

  function acceptPrediction(event) {
    const item = S.cur;
    if (!item) return;
    const folder = item.predicted_folder_id != null ? folderById(item.predicted_folder_id) : null;
    if (!folder) { toast("This video has no prediction yet: press a folder key, or retrain."); return; }
    sortInto(folder, event);
  }

  function skip(event) {
    if (S.cur) advance(S.cur, event && event.timeStamp);
  }

  function previous(event) {
    const item = S.cur;
    const prev = item ? prevOpen(item) : [...S.items].reverse().find((i) => i.state === "open");
    if (prev) show(prev, { startedAt: event && event.timeStamp });
    else toast("This is the first video.");
  }

  function undo() {
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

  function togglePlay() {
    const v = currentVideo();
    if (!v || !S.cur || S.cur.status !== "ok") return;
    if (v.paused) play(v); else v.pause();
  }

  function seekBy(delta) {
    const v = currentVideo();
    if (!v || !isFinite(v.duration)) return;
    v.currentTime = Math.max(0, Math.min(v.duration - 0.05, v.currentTime + delta));
  }

  function seekTo(t) {
    const v = currentVideo();
    if (!v) return;
    v.currentTime = t;
    if (v.paused) play(v);
  }

  function setMuted(muted) {
    S.muted = muted;
    for (const v of S.videos.values()) v.muted = muted;
    el.muteBadge.hidden = !muted;
    $("btn-mute").textContent = muted ? "Unmute" : "Mute";
  }

  // --- Folders, counts, stats -------------------------------------------------------

  function mergeFolders(list) {
    S.folders = list.map((f) => Object.assign({ prompts: [] }, folderById(f.id) || {}, f));
    S.folders.sort((a, b) => (a.key || 99) - (b.key || 99) || a.name.localeCompare(b.name));
  }

  async function loadFolders() {
    const data = await api("GET", "/api/folders");
    mergeFolders(data.folders);
    if (S.serverRemaining == null && typeof data.unsorted === "number") S.serverRemaining = data.unsorted;
    renderFolders();
  }

  function refreshStatsSoon() {
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

  function renderStats(stats) {
    const last = stats.last_retrain;
    el.lastRetrain.textContent = last
      ? `v${last.version} · ${last.accuracy != null ? pct(last.accuracy, 1) + " accuracy" : "no accuracy yet"} · ${last.n_labels ?? "?"} labels`
      : "never";
    const live = stats.live_accuracy;
    el.liveAccuracy.textContent = live && live.sorts
      ? `${pct(live.accuracy, 0)} (${live.agreed} of ${live.sorts} sorts agreed)`
      : "no sorts since the last retrain";
  }

  // --- Retrain ----------------------------------------------------------------------

  async function startRetrain() {
    el.retrain.disabled = true;
    try {
      await api("POST", "/api/retrain");
      toast("Retrain started.");
    } catch (err) {
      if (err.status !== 409) {
        toast("Could not start a retrain: " + err.detail, { level: "error" });
        el.retrain.disabled = false;
        return;
      }
      toast("A retrain is already running.");
    }
    S.retrainWasRunning = true;
    pollRetrain(true);
  }

  async function pollRetrain(fast) {
    clearTimeout(S.retrainPoll);
    let status;
    try {
      status = await api("GET", "/api/retrain/status");
    } catch (err) {
      el.retrainStatus.textContent = "Status unavailable: " + err.detail;
      S.retrainPoll = setTimeout(() => pollRetrain(fast), 3000);
      return;
    }
    renderRetrain(status);
    if (status.running) {
      S.retrainWasRunning = true;
      S.retrainPoll = setTimeout(() => pollRetrain(true), 700);
    } else if (S.retrainWasRunning) {
      S.retrainWasRunning = false;
      if (status.state === "succeeded") {
        const m = status.classifier && status.classifier.metrics || {};
        toast(`Retrained: v${status.classifier ? status.classifier.version : "?"}` +
              (m.accuracy != null ? `, ${pct(m.accuracy, 1)} accuracy` : ""));
        reloadQueue();
      } else {
        toast("Retrain " + (status.state || "stopped") + ": " + (status.error || status.last_result || "no reason given"), { level: "error" });
      }
      refreshStatsSoon();
    }
  }

  function renderRetrain(status) {
    el.retrain.disabled = !!status.running;
    el.player.dataset.retrain = status.running ? "running" : (status.state || "none");
    const p = status.progress || { done: 0, total: 0 };
    if (status.running) {
      const stage = STAGES[status.stage] || (status.state === "queued" ? "Waiting for a worker" : "Starting");
      const count = p.total ? ` ${p.done} / ${p.total}` : "";
      const eta = status.eta_seconds ? ` · about ${Math.ceil(status.eta_seconds)} s left` : "";
      el.retrainStatus.textContent = `${stage}…${count}${eta}`;
      el.retrainBarWrap.hidden = false;
      el.retrainBar.style.width = (p.total ? 100 * p.done / p.total : 5) + "%";
      el.retrain.textContent = "Retraining…";
    } else {
      el.retrainBarWrap.hidden = true;
      el.retrain.textContent = "Retrain";
      if (status.state === "succeeded" && status.classifier) {
        el.retrainStatus.textContent = `Done: classifier v${status.classifier.version}.`;
      } else if (status.state && status.state !== "succeeded") {
        el.retrainStatus.textContent = `Last retrain ${status.state}: ${status.error || ""}`;
      } else {
        el.retrainStatus.textContent = "";
      }
    }
  }

  // New order or new predictions: refetch the queue, keeping the video on screen.
  function reloadQueue() {
    enqueue(async () => {
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
    }).then(() => {
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

  // --- Folder dialog ----------------------------------------------------------------

  let editing = null;
  function openFolderDialog(folder) {
    editing = folder || null;
    $("folder-dialog-title").textContent = folder ? `Edit ${folder.name}` : "New folder";
    $("folder-name").value = folder ? folder.name : "";
    $("folder-prompts").value = folder && folder.prompts ? folder.prompts.join("\n") : "";
    const used = new Set(S.folders.filter((f) => f !== folder && f.key).map((f) => f.key));
    const keySelect = $("folder-key");
    for (const opt of keySelect.options) opt.disabled = opt.value !== "" && used.has(Number(opt.value));
    let key = folder ? folder.key : null;
    if (!folder) for (let k = 1; k <= 9 && key == null; k++) if (!used.has(k)) key = k;
    keySelect.value = key ? String(key) : "";
    $("folder-error").hidden = true;
    el.folderDialog.hidden = false;
    pauseForOverlay();
    $("folder-name").focus();
    $("folder-name").select();
  }

  function closeFolderDialog() {
    el.folderDialog.hidden = true;
    editing = null;
    resumeAfterOverlay();
  }

  async function saveFolder(e) {
    e.preventDefault();
    const name = $("folder-name").value.trim();
    const prompts = $("folder-prompts").value.split("\n").map((s) => s.trim()).filter(Boolean);
    const keyValue = $("folder-key").value;
    const key = keyValue ? Number(keyValue) : null;
    const error = $("folder-error");
    if (!name) { error.textContent = "Give the folder a name."; error.hidden = false; return; }
    $("folder-save").disabled = true;
    try {
      let saved;
      if (editing) {
        const body = {};
        if (name !== editing.name) body.name = name;
        if (JSON.stringify(prompts) !== JSON.stringify(editing.prompts || [])) body.prompts = prompts;
        if (key !== (editing.key || null)) body.key = key;
        saved = Object.keys(body).length ? await enqueue(() => api("PATCH", `/api/folders/${editing.id}`, body)) : editing;
      } else {
        saved = await enqueue(() => api("POST", "/api/folders", { name, prompts, key }));
      }
      const was = editing;
      closeFolderDialog();
      await loadFolders();
      renderItem(S.cur);
      toast(was ? `Saved ${saved.name || name}.` : `Created ${saved.name || name}${saved.key ? " on key " + saved.key : ""}.`);
    } catch (err) {
      error.textContent = err.detail;
      error.hidden = false;
    } finally {
      $("folder-save").disabled = false;
    }
  }

  // --- Overlays ---------------------------------------------------------------------

  let resumeOnClose = false;
  function pauseForOverlay() {
    const v = currentVideo();
    resumeOnClose = !!(v && !v.paused);
    if (v) v.pause();
  }
  function resumeAfterOverlay() {
    const v = currentVideo();
    if (v && resumeOnClose && S.cur && S.cur.status === "ok" && !S.cur.broken) play(v);
    resumeOnClose = false;
  }
  function toggleHelp(open) {
    const wanted = open === undefined ? el.help.hidden : open;
    if (wanted === !el.help.hidden) return;
    el.help.hidden = !wanted;
    if (wanted) { pauseForOverlay(); $("help-close").focus(); } else resumeAfterOverlay();
  }

  // --- Input ------------------------------------------------------------------------

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

  function bind() {
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
    $("complete-review").addEventListener("click", () => {
      const first = S.items.find((i) => i.state === "open" && i.status !== "ok");
      if (first) show(first);
    });
    el.order.addEventListener("change", async () => {
      const order = el.order.value;
      el.order.blur();
      try {
        await api("PUT", "/api/preferences", { queue_order: order });
      } catch (err) {
        toast("Could not save the queue order: " + err.detail, { level: "error" });
      }
      S.order = order;
      reloadQueue();
    });
    for (const button of document.querySelectorAll(".controls button")) {
      button.addEventListener("mouseup", () => button.blur()); // keys stay with the player
    }
  }

  // --- Start ------------------------------------------------------------------------

  async function start() {
    bind();
    window.vidsort = { state: S, metrics: S.metrics };
    try {
      await Promise.all([loadFolders(), enqueue(fetchPage)]);
    } catch (err) {
      el.loading.textContent = "Could not load the queue: " + err.detail;
      el.player.dataset.state = "error";
      toast("Could not load the queue: " + err.detail, { level: "error" });
      return;
    }
    S.startTotal = S.serverRemaining || 0;
    const first = nextOpen(null);
    if (first) show(first); else showComplete();
    refreshStatsSoon();
    pollRetrain(false);
  }

  start();
})();
