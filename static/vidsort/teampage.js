// The team page: each labeller's figures (table and chart), pairwise kappa as a heat grid,
// the team's alpha, and for owners the team settings. All from the JSON API.

import { barChart, heatGrid } from "./chart.js";
import { api } from "./http.js";
import { toast } from "./toast.js";

const cfg = JSON.parse(document.getElementById("team-config").textContent);
const $ = (id) => document.getElementById(id);
const lib = encodeURIComponent(cfg.library);

const pct = (x) => (x == null ? "–" : (x * 100).toFixed(0) + " %");
const num = (x) => (x == null ? "–" : String(x));

function message(err) {
  const e = err && err.data && err.data.error;
  if (e && typeof e === "object" && e.message) return e.message;
  return (err && err.detail) || String(err);
}

function renderTable(labellers) {
  const body = $("labellers").tBodies[0];
  if (!labellers.length) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td colspan="6" class="muted">No labeller has voted yet.</td>`;
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...labellers.map((l) => {
    const tr = document.createElement("tr");
    tr.dataset.user = l.user;
    const cells = [
      l.username || `user ${l.user}`, num(l.votes), pct(l.gold_accuracy), num(l.batches_accepted),
      num(l.batches_discarded), pct(l.agreement_with_decided),
    ];
    cells.forEach((text, i) => {
      const td = document.createElement(i ? "td" : "th");
      if (!i) td.scope = "row";
      td.textContent = text;
      tr.appendChild(td);
    });
    return tr;
  }));
}

function renderSummary(stats) {
  $("alpha").textContent = stats.alpha == null ? "– (needs videos with 2+ votes)" : Number(stats.alpha).toFixed(3);
  $("multi-voted").textContent = num(stats.videos_with_2plus_votes);
  const d = stats.decided || {};
  const total = (d.strong || 0) + (d.weak || 0) + (d.reviewer || 0);
  $("decided").textContent = `${total} (${d.strong || 0} strong, ${d.weak || 0} by majority, ${d.reviewer || 0} by a reviewer)`;
}

function renderCharts(labellers, kappa) {
  const chart = $("chart");
  if (labellers.length) {
    chart.replaceChildren(barChart(
      labellers.map((l) => ({ label: l.username || `user ${l.user}`, values: [l.gold_accuracy, l.agreement_with_decided] })),
      [{ name: "gold accuracy", className: "gold" }, { name: "agrees with decided", className: "agree" }],
      { label: "Gold accuracy and agreement with the decided label, per labeller" },
    ));
  } else {
    chart.textContent = "No figures yet.";
  }
  const grid = $("kappa");
  const ids = new Map(labellers.map((l) => [l.user, l.username || `user ${l.user}`]));
  for (const k of kappa) for (const id of [k.a, k.b]) if (!ids.has(id)) ids.set(id, `user ${id}`);
  if (kappa.length && ids.size > 1) {
    grid.replaceChildren(heatGrid(
      [...ids].map(([id, label]) => ({ id, label })),
      kappa.map((k) => ({ a: k.a, b: k.b, value: k.kappa, n: k.n })),
      { label: "Cohen's kappa for each pair of labellers" },
    ));
  } else {
    grid.textContent = "No two labellers have voted on the same videos yet.";
  }
}

// Reviewers and owners: how many gold videos there are against what a batch needs (without
// enough, labellers get no batch).
async function loadGold() {
  const dd = $("gold-count");
  if (!dd) return;
  try {
    const gold = await api("GET", `/api/gold?library=${lib}`);
    dd.textContent = `${gold.count} (each batch needs ${gold.needed_per_batch})`;
    dd.classList.toggle("error", gold.count < gold.needed_per_batch);
  } catch (err) {
    dd.textContent = "–";
  }
}

async function loadStats() {
  const stats = await api("GET", `/api/team/stats?library=${lib}`);
  const labellers = stats.labellers || [];
  renderTable(labellers);
  renderSummary(stats);
  renderCharts(labellers, stats.kappa || []);
  $("team").dataset.state = "ready";
}

function bindSettings() {
  const form = $("team-settings");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = $("settings-status");
    const body = {
      team_mode: form.elements.team_mode.checked,
      votes_to_decide: Number(form.elements.votes_to_decide.value),
      batch_size: Number(form.elements.batch_size.value),
      gold_per_batch: Number(form.elements.gold_per_batch.value),
    };
    status.textContent = "Saving…";
    try {
      const r = await api("PATCH", `/api/team/settings?library=${lib}`, body);
      for (const k of ["votes_to_decide", "batch_size", "gold_per_batch"]) if (r[k] != null) form.elements[k].value = r[k];
      if (r.team_mode != null) form.elements.team_mode.checked = r.team_mode;
      $("team-mode").textContent = form.elements.team_mode.checked ? "on" : "off";
      status.textContent = "Saved.";
    } catch (err) {
      status.textContent = "";
      toast("Settings not saved: " + message(err), { level: "error" });
    }
  });
}

bindSettings();
loadGold();
loadStats().catch((err) => {
  $("team").dataset.state = "error";
  const p = $("team-error");
  p.hidden = false;
  p.textContent = "Could not load the team's figures: " + message(err);
});
