// What a video says and shows: its transcript and on-screen lines (GET /api/videos/<id>/text)
// drawn as clickable lines, the words of a folder highlighted.

// Shared by the player and the gallery, so it imports nothing of either page: each page
// passes its container, its words and what a click on a line does.

import { api } from "../http.js";

const CACHE_SIZE = 200;
const FETCH_DELAY_MS = 250; // a quick run of skips fetches nothing for the videos passed by

const answers = new Map(); // video id -> the /text answer, final states only
const inFlight = new Map(); // video id -> its request

// Words that say nothing about a folder: the default prompt is "a video of <name>".
const STOP = new Set(`a an the of and or in on at to for with from by is are be this that
  these those it its video videos clip clips photo photos picture image footage scene shot
  someone something some people person`.split(/\s+/));

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

// Case and a plural or possessive "s" do not matter: "Cats" matches "cat's".
function normal(word) {
  let w = word.toLowerCase().replace(/['’]s$/, "");
  if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) w = w.slice(0, -1);
  return w;
}

export function wordsOf(...texts) {
  const words = new Set();
  for (const text of texts) {
    for (const m of String(text || "").matchAll(WORD)) {
      const w = normal(m[0]);
      if (w.length > 1 && !STOP.has(w)) words.add(w);
    }
  }
  return words;
}

export function folderWords(folder) {
  return folder ? wordsOf(folder.name, ...(folder.prompts || [])) : new Set();
}

// Text nodes and <mark>s only: the lines are user content and never parsed as HTML.
export function highlighted(text, words) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(WORD)) {
    if (!words.has(normal(m[0]))) continue;
    if (m.index > last) frag.append(text.slice(last, m.index));
    const mark = document.createElement("mark");
    mark.textContent = m[0];
    frag.append(mark);
    last = m.index + m[0].length;
  }
  if (last < text.length) frag.append(text.slice(last));
  return frag;
}

export function clock(t) {
  const s = Math.max(0, Math.floor(t || 0));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function stateLine(part, emptyText) {
  switch (part.state) {
    case "ok": case "transcribed": case "read": return emptyText;
    case "pending": return "Not analysed yet";
    case "no_audio": return "No audio track";
    case "no_video": return "No picture";
    case "silent": return "No speech";
    case "off": return "Off";
    case "failed": return "Failed: " + (part.reason || "no reason recorded");
    default: return part.state + (part.reason ? ": " + part.reason : "");
  }
}

function muted(text) {
  const p = document.createElement("p");
  p.className = "muted text-state";
  p.textContent = text;
  return p;
}

function section(title, kind, part, rows, emptyText, words) {
  const box = document.createElement("section");
  box.className = "text-part";
  box.dataset.source = kind;
  box.dataset.state = part ? part.state : "unknown";
  const h = document.createElement("h3");
  h.textContent = title;
  box.append(h);
  if (!part || !rows.length) {
    box.append(muted(part ? stateLine(part, emptyText) : "Not analysed yet"));
    return box;
  }
  const list = document.createElement("ol");
  list.className = "text-lines";
  for (const row of rows) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "text-line";
    b.dataset.time = row.time;
    b.title = `Play from ${clock(row.time)}`;
    const time = document.createElement("span");
    time.className = "time";
    time.textContent = clock(row.time);
    const said = document.createElement("span");
    said.className = "words";
    said.append(highlighted(row.text, words));
    b.append(time, said);
    li.append(b);
    list.append(li);
  }
  box.append(list);
  return box;
}

// Draws an answer of GET /api/videos/<id>/text into `container`.
export function renderText(container, data, words = new Set()) {
  const t = (data && data.transcript) || null;
  const s = (data && data.screen_text) || null;
  const said = ((t && t.segments) || []).map((g) => ({ time: g.start, text: g.text }));
  const shown = ((s && s.lines) || []).map((l) => ({ time: l.time, text: l.text }));
  container.replaceChildren(
    section("Said", "transcript", t, said, "No speech", words),
    section("Written", "screen", s, shown, "No on-screen text", words),
  );
  container.dataset.video = data ? data.video : "";
}

// The time of the line a click landed on, or null: pages bind one listener on the container.
export function lineTime(event) {
  const line = event.target.closest(".text-line");
  if (!line) return null;
  line.blur(); // Enter and Space stay the page's keys
  return Number(line.dataset.time);
}

function remember(id, data) {
  // "pending" becomes something else after the text stage: ask again next time.
  const final = [data.transcript, data.screen_text].every((p) => p && p.state !== "pending");
  if (!final) return;
  answers.delete(id);
  answers.set(id, data);
  if (answers.size > CACHE_SIZE) answers.delete(answers.keys().next().value);
}

export function textFor(id) {
  if (answers.has(id)) return Promise.resolve(answers.get(id));
  let request = inFlight.get(id);
  if (!request) {
    request = api("GET", `/api/videos/${id}/text`)
      .then((data) => { remember(id, data); return data; })
      .finally(() => inFlight.delete(id));
    inFlight.set(id, request);
  }
  return request;
}

const timers = new WeakMap(); // container -> its pending fetch

// Shows video `id`'s lines in `container`: at once when known, else after `delay` ms and
// only while `wanted()` still says so, so a switch to the next video never waits on it.
export function showTextSoon(container, id, words, wanted, { delay = FETCH_DELAY_MS } = {}) {
  clearTimeout(timers.get(container));
  if (answers.has(id)) { renderText(container, answers.get(id), words); return; }
  container.replaceChildren(muted("Loading…"));
  container.dataset.video = "";
  timers.set(container, setTimeout(() => {
    if (!wanted()) return;
    textFor(id).then((data) => {
      if (wanted()) renderText(container, data, words);
    }, (err) => {
      if (wanted()) container.replaceChildren(muted("Could not load the text: " + err.detail));
    });
  }, delay));
}
