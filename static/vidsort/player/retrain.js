// The retrain button: start a job, poll its progress, reload the queue when it is done.

import { api } from "../http.js";
import { toast } from "../toast.js";
import { el, pct } from "./dom.js";
import { reloadQueue } from "./actions.js";
import { refreshStatsSoon } from "./queue.js";
import { S } from "./state.js";

const STAGES = { scan: "Scanning the library", extract: "Extracting features",
                 train: "Training", predict: "Predicting" };

export async function startRetrain() {
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

// Polls every 0.7 s while a job runs (3 s after a failed poll); stops once it has ended.
export async function pollRetrain(fast) {
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
