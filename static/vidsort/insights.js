// The insights page: charts drawn as inline SVG from GET /api/insights (no library, no
// build step). Each <figure data-chart> ends in data-state="drawn" (an <svg> with marks)
// or "empty" (a sentence saying what would fill it). A click on a cell of the
// filed-vs-predicted matrix lists that cell's videos below it. In team mode the
// per-labeller chart (only there for a labeller or above) comes from GET /api/team/stats,
// drawn by the team page's chart.js; a labeller's answer holds their own row only.

import { barChart } from "./chart.js";
import { api } from "./http.js";

const NS = "http://www.w3.org/2000/svg";
let W = 640; // the width of the chart being drawn: its box's, so text keeps its size
const pct = (x) => (x == null ? "–" : Math.round(x * 100) + " %");

function node(tag, attrs = {}, text = null) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text != null) n.textContent = text;
  return n;
}

function titled(mark, text) { mark.appendChild(node("title", {}, text)); return mark; }

function svgBox(height, label) {
  const svg = node("svg", { viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": label, class: "chart-svg" });
  return svg;
}

function figure(name) { return document.querySelector(`[data-chart="${name}"]`); }

function sizeFor(name) {
  const body = figure(name).querySelector(".chart-body");
  W = Math.max(280, Math.round(body.getBoundingClientRect().width) || 640);
}

function done(name, content) {
  const fig = figure(name);
  const body = fig.querySelector(".chart-body");
  if (content == null || typeof content === "string") {
    const p = document.createElement("p");
    p.className = "empty muted";
    p.textContent = content || fig.dataset.empty || "Nothing to show yet.";
    body.replaceChildren(p);
    fig.dataset.state = "empty";
  } else {
    body.replaceChildren(content);
    fig.dataset.state = "drawn";
  }
}

// Horizontal bars: rows [{label, href?, values: [{value, max, cls, text}]}].
function hbars(rows, { label, legend = [] }) {
  const per = Math.max(1, rows[0].values.length);
  const rowH = 10 + 14 * per;
  const top = legend.length ? 24 : 4;
  const svg = svgBox(top + rows.length * rowH + 4, label);
  const left = Math.min(170, W * 0.3), right = W - 100;
  legend.forEach((l, i) => {
    svg.appendChild(node("rect", { x: left + i * 90, y: 6, width: 12, height: 12, class: l.cls }));
    svg.appendChild(node("text", { x: left + i * 90 + 18, y: 16, class: "axis" }, l.text));
  });
  rows.forEach((row, r) => {
    const y0 = top + r * rowH;
    const name = node("text", { x: left - 8, y: y0 + rowH / 2 + 4, "text-anchor": "end", class: "label" }, row.label);
    if (row.href) {
      const a = node("a", { href: row.href });
      a.appendChild(name);
      svg.appendChild(a);
    } else svg.appendChild(name);
    row.values.forEach((v, i) => {
      const width = v.max ? Math.max(0, (right - left) * (v.value || 0) / v.max) : 0;
      const y = y0 + 5 + i * 14;
      svg.appendChild(titled(node("rect", { x: left, y, width: Math.max(width, 1), height: 12, class: "mark " + (v.cls || "") }),
        `${row.label}: ${v.text}`));
      svg.appendChild(node("text", { x: left + width + 4, y: y + 10, class: "value" }, v.text));
    });
  });
  return svg;
}

// Vertical bars: [{label, value, text}] with a few axis labels.
function vbars(items, { label, cls = "" }) {
  const H = 220, bottom = H - 28, top = 12, left = 36;
  const svg = svgBox(H, label);
  const max = Math.max(1, ...items.map((d) => d.value));
  const slot = (W - left - 8) / items.length;
  svg.appendChild(node("text", { x: left - 6, y: top + 8, "text-anchor": "end", class: "axis" }, String(max)));
  svg.appendChild(node("line", { x1: left, x2: W - 4, y1: bottom, y2: bottom, class: "grid" }));
  const every = Math.ceil(items.length / Math.max(2, Math.min(10, Math.floor(W / 64))));
  items.forEach((d, i) => {
    const h = (bottom - top) * d.value / max;
    const x = left + i * slot + slot * 0.1;
    svg.appendChild(titled(node("rect", { x, y: bottom - h, width: Math.max(1, slot * 0.8), height: Math.max(h, d.value ? 1 : 0), class: "mark " + cls }),
      `${d.label}: ${d.text}`));
    if (i % every === 0) {
      svg.appendChild(node("text", { x: x + slot * 0.4, y: H - 10, "text-anchor": "middle", class: "axis" }, d.label));
    }
  });
  return svg;
}

function learningCurve(points) {
  sizeFor("learning");
  const usable = points.filter((p) => p.n_labels != null && (p.cv_accuracy != null || p.live_accuracy != null));
  if (!usable.length) return done("learning", null);
  const narrow = W < 420; // the legend in two rows
  const H = narrow ? 276 : 260, left = 52, right = W - 12, top = narrow ? 50 : 34, bottom = H - 34;
  const svg = svgBox(H, "Accuracy against the number of labels, per retrain");
  const xs = usable.map((p) => p.n_labels);
  const lo = Math.min(...xs), hi = Math.max(...xs);
  const X = (n) => (hi === lo ? (left + right) / 2 : left + (right - left) * (n - lo) / (hi - lo));
  const Y = (a) => bottom - (bottom - top) * a;
  for (const a of [0, 0.5, 1]) {
    svg.appendChild(node("line", { x1: left, x2: right, y1: Y(a), y2: Y(a), class: "grid" }));
    svg.appendChild(node("text", { x: left - 6, y: Y(a) + 4, "text-anchor": "end", class: "axis" }, pct(a)));
  }
  svg.appendChild(node("text", { x: left, y: H - 8, class: "axis" }, `${lo} labels`));
  svg.appendChild(node("text", { x: right, y: H - 8, "text-anchor": "end", class: "axis" }, `${hi} labels`));
  const series = [
    { key: "cv_accuracy", cls: "cv", name: "cross-validated" },
    { key: "live_accuracy", cls: "live", name: "live (sorts that agreed)" },
  ];
  series.forEach((s, i) => {
    const pts = usable.filter((p) => p[s.key] != null);
    if (pts.length > 1) {
      svg.appendChild(node("polyline", { points: pts.map((p) => `${X(p.n_labels)},${Y(p[s.key])}`).join(" "), class: "line " + s.cls }));
    }
    for (const p of pts) {
      svg.appendChild(titled(node("circle", { cx: X(p.n_labels), cy: Y(p[s.key]), r: 4, class: "dot " + s.cls }),
        `v${p.version}, ${p.n_labels} labels: ${s.name} ${pct(p[s.key])}` + (s.key === "live_accuracy" ? ` of ${p.live_sorts} sorts` : "")));
    }
    const lx = narrow ? left : left + i * 160, ly = narrow ? 6 + i * 18 : 6;
    svg.appendChild(node("rect", { x: lx, y: ly, width: 12, height: 12, class: "dot " + s.cls }));
    svg.appendChild(node("text", { x: lx + 18, y: ly + 10, class: "axis" }, s.name));
  });
  done("learning", svg);
}

function perFolder(rows) {
  sizeFor("per-folder");
  if (!rows.length) return done("per-folder", null);
  done("per-folder", hbars(rows.map((r) => ({
    label: r.folder,
    href: r.folder_id ? `/gallery/${r.folder_id}` : null,
    values: [
      { value: r.precision, max: 1, cls: "p", text: "precision " + pct(r.precision) },
      { value: r.recall, max: 1, cls: "r", text: "recall " + pct(r.recall) },
      { value: r.average_precision, max: 1, cls: "ap", text: "AP " + pct(r.average_precision) },
    ],
  })), { label: "Precision, recall and average precision per folder",
    legend: [{ cls: "mark p", text: "precision" }, { cls: "mark r", text: "recall" }, { cls: "mark ap", text: "AP" }] }));
}

function confusion(data) {
  sizeFor("confusion");
  const n = data.folders.length;
  if (!n) return done("confusion", null);
  const left = 130, top = 100, cell = Math.min(56, (W - left - 8) / n);
  const svg = svgBox(top + n * cell + 8, "Folder filed into (rows) against the folder predicted (columns)");
  const max = Math.max(1, ...data.cells.flat());
  data.folders.forEach((f, i) => {
    svg.appendChild(node("text", { x: left - 6, y: top + i * cell + cell / 2 + 4, "text-anchor": "end", class: "label" }, f.name));
    const cx = left + i * cell + cell / 2;
    svg.appendChild(node("text", { x: cx, y: top - 8, transform: `rotate(-40 ${cx} ${top - 8})`, class: "label" }, f.name));
  });
  data.cells.forEach((row, r) => row.forEach((count, c) => {
    const g = node("g", { class: "cell" + (r === c ? " diagonal" : ""), tabindex: count ? "0" : "-1",
      "data-filed": data.folders[r].id, "data-predicted": data.folders[c].id, "data-count": count });
    const shade = count / max;
    g.appendChild(titled(node("rect", { x: left + c * cell, y: top + r * cell, width: cell - 2, height: cell - 2,
      style: `fill-opacity:${0.08 + 0.92 * shade}` }),
      `filed into ${data.folders[r].name}, predicted ${data.folders[c].name}: ${count}`));
    if (count) g.appendChild(node("text", { x: left + c * cell + cell / 2 - 1, y: top + r * cell + cell / 2 + 4, "text-anchor": "middle", class: shade > 0.55 ? "count dark" : "count" }, String(count)));
    svg.appendChild(g);
  }));
  svg.addEventListener("click", (e) => openCell(e.target.closest(".cell"), data));
  svg.addEventListener("keydown", (e) => { if (e.key === "Enter") openCell(e.target.closest(".cell"), data); });
  done("confusion", svg);
}

async function openCell(cell, data) {
  if (!cell || cell.dataset.count === "0") return;
  const box = document.getElementById("cell-gallery");
  const name = (id) => (data.folders.find((f) => String(f.id) === id) || {}).name;
  box.hidden = false;
  box.dataset.filed = cell.dataset.filed;
  box.dataset.predicted = cell.dataset.predicted;
  const title = document.createElement("h3");
  title.textContent = `Filed into ${name(cell.dataset.filed)} while ${name(cell.dataset.predicted)} was predicted`;
  box.replaceChildren(title);
  try {
    const videos = await api("GET", `/api/insights/confusion?filed=${cell.dataset.filed}&predicted=${cell.dataset.predicted}`);
    const grid = document.createElement("div");
    grid.className = "grid";
    for (const v of videos) {
      const card = document.createElement("div");
      card.className = "card";
      card.dataset.video = v.id;
      card.innerHTML = `<div class="poster"><video preload="metadata" muted playsinline controls></video></div><div class="body"><span class="name"></span><a></a></div>`;
      card.querySelector("video").src = v.url;
      card.querySelector(".name").textContent = v.filename;
      const link = card.querySelector("a");
      link.href = `/gallery/${cell.dataset.filed}`;
      link.textContent = `${v.folder || "Unsorted"} gallery`;
      grid.appendChild(card);
    }
    box.appendChild(grid);
  } catch (err) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = "Could not list the videos: " + err.detail;
    box.appendChild(p);
  }
}

function labelsPerDay(days) {
  sizeFor("labels-per-day");
  if (!days.length) return done("labels-per-day", null);
  done("labels-per-day", vbars(days.slice(-60).map((d) => ({ label: d.day.slice(5), value: d.labels, text: `${d.labels} labels (${d.total} in all)` })),
    { label: "Labels per day", cls: "labels" }));
}

function histogram(bins) {
  sizeFor("confidence");
  if (!bins.some((b) => b.videos)) return done("confidence", null);
  done("confidence", vbars(bins.map((b) => ({ label: `${Math.round(b.from * 100)}–${Math.round(b.to * 100)}`, value: b.videos, text: `${b.videos} videos` })),
    { label: "The queue's videos by the confidence of their top prediction", cls: "confidence" }));
}

function folderSizes(folders) {
  sizeFor("folder-sizes");
  if (!folders.length) return done("folder-sizes", null);
  const max = Math.max(1, ...folders.map((f) => f.count));
  done("folder-sizes", hbars(folders.map((f) => ({
    label: f.name, href: `/gallery/${f.id}`,
    values: [{ value: f.count, max, cls: "size", text: `${f.count} video${f.count === 1 ? "" : "s"}` }],
  })), { label: "Videos per folder" }));
}

function unreadable(files) {
  if (!files.length) return done("unreadable", null);
  const list = document.createElement("ul");
  list.className = "unreadable-list";
  for (const f of files) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="name"></span> <span class="muted"></span>`;
    li.querySelector(".name").textContent = f.path;
    li.querySelector(".muted").textContent = f.error || "no reason recorded";
    list.appendChild(li);
  }
  done("unreadable", list);
}

async function labellers() {
  const fig = figure("labellers");
  if (!fig) return; // single-user mode, or a viewer
  let stats;
  try {
    stats = await api("GET", `/api/team/stats?library=${encodeURIComponent(fig.dataset.library)}`);
  } catch (err) {
    return done("labellers", "Could not load the labellers' figures: " + err.detail);
  }
  const rows = (stats.labellers || []).filter((l) => l.votes || l.gold_accuracy != null);
  if (!rows.length) return done("labellers", null);
  const plural = (n) => `${n} vote${n === 1 ? "" : "s"}`;
  const chart = barChart(
    rows.map((l) => ({ label: `${l.username || "user " + l.user} · ${plural(l.votes)}`, values: [l.gold_accuracy, l.agreement_with_decided] })),
    [{ name: "gold accuracy", className: "gold" }, { name: "agrees with decided", className: "agree" }],
    { label: "Gold accuracy and agreement with the decided label, per labeller" },
  );
  rows.forEach((l, i) => { chart.querySelectorAll("g.group")[i].dataset.votes = l.votes; });
  done("labellers", chart);
}

function drawAll(data) {
  learningCurve(data.learning_curve);
  perFolder(data.per_folder);
  confusion(data.confusion);
  labelsPerDay(data.labels_per_day);
  histogram(data.confidence_histogram);
  folderSizes(data.folder_sizes);
  unreadable(data.unreadable);
}

async function start() {
  labellers(); // its own request; drawn in a viewBox, so no redraw on resize
  let data;
  try {
    data = await api("GET", "/api/insights");
  } catch (err) {
    for (const fig of document.querySelectorAll("[data-chart]")) done(fig.dataset.chart, "Could not load: " + err.detail);
    return;
  }
  drawAll(data);
  document.body.dataset.insights = "ready";
  // Drawn at the boxes' widths: drawn again when they change (a rotated phone).
  let timer = null;
  let width = window.innerWidth;
  window.addEventListener("resize", () => {
    if (window.innerWidth === width) return;
    width = window.innerWidth;
    clearTimeout(timer);
    timer = setTimeout(() => drawAll(data), 150);
  });
}

start();
