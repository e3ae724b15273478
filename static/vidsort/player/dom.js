// The player page's elements, looked up once, and number formats for showing them.

export const $ = (id) => document.getElementById(id);

export const el = {
  player: $("player"), folders: $("folders"), box: $("video-box"), loading: $("loading"),
  message: $("video-message"), messageTitle: $("video-message-title"),
  messageReason: $("video-message-reason"), muteBadge: $("mute-badge"),
  complete: $("complete"), completeTotals: $("complete-totals"),
  completeUnplayable: $("complete-unplayable"), played: $("played"), segments: $("segments"),
  timeline: $("timeline"), filename: $("filename"), meta: $("meta"), prediction: $("prediction"),
  top3: $("top3"), counter: $("counter"), progressBar: $("progress-bar"), order: $("order"),
  retrain: $("retrain"), retrainStatus: $("retrain-status"), retrainBar: $("retrain-bar"),
  retrainBarWrap: $("retrain-bar-wrap"), lastRetrain: $("last-retrain"),
  liveAccuracy: $("live-accuracy"), help: $("help"),
  folderDialog: $("folder-dialog"), folderForm: $("folder-form"),
  textPanel: $("text-panel"), text: $("text"),
};

export const pct = (x, digits = 0) => (x * 100).toFixed(digits) + " %";

export function seconds(s) {
  if (s == null || !isFinite(s)) return "";
  if (s < 60) return s.toFixed(1) + " s";
  return Math.floor(s / 60) + ":" + String(Math.round(s % 60)).padStart(2, "0");
}
