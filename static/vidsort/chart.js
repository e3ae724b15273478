// Small inline SVG charts for the team page: grouped horizontal bars and a heat grid.

// Drawn in a viewBox that scales with the page, so one drawing fits a phone and a desktop;
// every mark has a <title> (a tooltip, and what a screen reader says).

const NS = "http://www.w3.org/2000/svg";

function node(name, attrs = {}, text = null) {
  const n = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text != null) n.textContent = text;
  return n;
}

function svg(width, height, label) {
  return node("svg", {
    viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": label,
    preserveAspectRatio: "xMinYMin meet", class: "svg-chart",
  });
}

const pct = (x) => (x == null ? "–" : Math.round(x * 100) + " %");

// rows: [{label, values: [0..1 | null, …]}]; series: [{name, className}].
// One group per row: its label above, one bar per series, the value at the bar's end.
export function barChart(rows, series, { label = "Bar chart" } = {}) {
  const W = 360, LEFT = 4, BAR = 12, GAP = 3, LABEL = 16, GROUP_GAP = 10, LEGEND = 22;
  const barW = W - LEFT - 48;
  const groupH = LABEL + series.length * (BAR + GAP) + GROUP_GAP;
  const s = svg(W, LEGEND + rows.length * groupH + 4, label);
  series.forEach((sr, i) => {
    const x = LEFT + i * 150;
    s.append(node("rect", { x, y: 4, width: 12, height: 12, class: "bar " + sr.className }),
      node("text", { x: x + 17, y: 14, class: "legend" }, sr.name));
  });
  rows.forEach((row, r) => {
    const y0 = LEGEND + r * groupH;
    const g = node("g", { class: "group", "data-label": row.label });
    g.append(node("text", { x: LEFT, y: y0 + 12, class: "row-label" }, row.label));
    series.forEach((sr, i) => {
      const value = row.values[i];
      const y = y0 + LABEL + i * (BAR + GAP);
      g.append(node("rect", { x: LEFT, y, width: barW, height: BAR, class: "track" }));
      const w = value == null ? 0 : Math.max(0, Math.min(1, value)) * barW;
      const bar = node("rect", {
        x: LEFT, y, width: w.toFixed(1), height: BAR, class: "bar " + sr.className,
        "data-value": value == null ? "" : value,
      });
      bar.append(node("title", {}, `${row.label}: ${sr.name} ${pct(value)}`));
      g.append(bar, node("text", { x: LEFT + barW + 4, y: y + BAR - 2, class: "value" }, pct(value)));
    });
    s.append(g);
  });
  return s;
}

// A colour for a value in [-1, 1]: red below 0, grey at 0, green towards 1.
function heat(v) {
  if (v == null || !isFinite(v)) return "#2a2a2a";
  const t = Math.max(-1, Math.min(1, v));
  const hue = t >= 0 ? 140 : 0;
  return `hsl(${hue}, ${Math.round(60 * Math.abs(t))}%, ${Math.round(26 + 12 * Math.abs(t))}%)`;
}

// names: [{id, label}]; cells: [{a, b, value, n}] for unordered pairs (a ≠ b).
export function heatGrid(names, cells, { label = "Heat grid", digits = 2 } = {}) {
  const n = names.length;
  const HEAD = 70, CELL = Math.max(28, Math.min(56, Math.floor((360 - HEAD) / Math.max(1, n))));
  const W = HEAD + n * CELL, H = HEAD + n * CELL;
  const s = svg(W, H, label);
  s.style.maxWidth = Math.round(W * 1.4) + "px"; // a grid of two stays small on a wide page
  const at = new Map();
  for (const c of cells) { at.set(`${c.a}:${c.b}`, c); at.set(`${c.b}:${c.a}`, c); }
  const short = (t) => (t.length > 9 ? t.slice(0, 8) + "…" : t);
  names.forEach((nm, i) => {
    s.append(node("text", { x: HEAD - 4, y: HEAD + i * CELL + CELL / 2 + 4, class: "axis", "text-anchor": "end" }, short(nm.label)));
    const cx = HEAD + i * CELL + CELL / 2;
    s.append(node("text", {
      x: cx, y: HEAD - 6, class: "axis", transform: `rotate(-45 ${cx} ${HEAD - 6})`,
    }, short(nm.label)));
  });
  names.forEach((row, i) => names.forEach((col, j) => {
    const x = HEAD + j * CELL, y = HEAD + i * CELL;
    const c = i === j ? null : at.get(`${row.id}:${col.id}`);
    const value = i === j ? null : c ? c.value : null;
    const rect = node("rect", {
      x, y, width: CELL - 2, height: CELL - 2, rx: 3, class: i === j ? "cell self" : "cell",
      fill: i === j ? "#1a1a1a" : heat(value), "data-a": row.id, "data-b": col.id,
      "data-value": value == null ? "" : value,
    });
    rect.append(node("title", {}, i === j ? row.label
      : `${row.label} / ${col.label}: ${value == null ? "no videos in common" : value.toFixed(digits)}${c && c.n != null ? ` (n = ${c.n})` : ""}`));
    s.append(rect);
    if (i !== j && value != null) {
      s.append(node("text", { x: x + (CELL - 2) / 2, y: y + CELL / 2 + 3, class: "cell-value", "text-anchor": "middle" },
        value.toFixed(CELL < 40 ? 1 : digits)));
    }
  }));
  return s;
}
