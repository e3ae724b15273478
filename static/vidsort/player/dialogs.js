// The folder dialog (new, rename, prompts, key) and the shortcuts overlay.

// The video pauses while either is open and resumes after.

import { api } from "../http.js";
import { toast } from "../toast.js";
import { $, el } from "./dom.js";
import { loadFolders } from "./queue.js";
import { renderItem } from "./render.js";
import { S, enqueue } from "./state.js";
import { currentVideo, play } from "./video.js";

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

export function toggleHelp(open) {
  const wanted = open === undefined ? el.help.hidden : open;
  if (wanted === !el.help.hidden) return;
  el.help.hidden = !wanted;
  if (wanted) { pauseForOverlay(); $("help-close").focus(); } else resumeAfterOverlay();
}

let editing = null; // the folder being edited; null for a new one

export function openFolderDialog(folder) {
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

export function closeFolderDialog() {
  el.folderDialog.hidden = true;
  editing = null;
  resumeAfterOverlay();
}

// Sends only what changed; folder writes join the chain so they land between sorts.
export async function saveFolder(e) {
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
    toast(was ? `Saved ${saved.name || name}.${keyTakenNote(saved)}` : `Created ${saved.name || name}${saved.key ? " on key " + saved.key : ""}.`);
  } catch (err) {
    error.textContent = err.detail;
    error.hidden = false;
  } finally {
    $("folder-save").disabled = false;
  }
}

// Taking another folder's key swaps the two: say which folder's key changed.
function keyTakenNote(saved) {
  const other = saved.key_taken_from;
  if (!other) return "";
  return other.key ? ` ${other.name} moved to key ${other.key}.` : ` ${other.name} has no key now.`;
}
