// History: the caller's recent conversions as a list with thumbnails, and a small store of the
// input images this browser uploaded (the API keeps them private), so a reopened conversion
// shows its input beside its SVG.

import { formatBytes, formatSsim } from "./files.js";

const DB_NAME = "svgai";
const STORE = "inputs";
const KEEP = 60;

function openDb() {
  return new Promise((resolve, reject) => {
    if (!("indexedDB" in window)) {
      reject(new Error("no IndexedDB"));
      return;
    }
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Remember an uploaded input (by its file_id) in this browser; failures are ignored. */
export async function rememberInput(fileId, record) {
  try {
    const db = await openDb();
    const tx = db.transaction(STORE, "readwrite");
    const store = tx.objectStore(STORE);
    store.put({ ...record, savedAt: Date.now() }, fileId);
    const keys = await asPromise(store.getAllKeys());
    if (keys.length > KEEP) {
      const all = await asPromise(store.getAll());
      const order = keys.map((key, i) => [all[i].savedAt || 0, key]).sort((a, b) => a[0] - b[0]);
      for (const [, key] of order.slice(0, keys.length - KEEP)) store.delete(key);
    }
    db.close();
  } catch {
    // Private windows may refuse storage: history still works, without the input preview.
  }
}

/** Return the stored input for a file_id, or null. */
export async function recallInput(fileId) {
  try {
    const db = await openDb();
    const value = await asPromise(db.transaction(STORE).objectStore(STORE).get(fileId));
    db.close();
    return value || null;
  } catch {
    return null;
  }
}

function asPromise(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function describe(record) {
  const parts = [record.kind === "ai" ? `AI tier ${record.tier ?? "?"}` : "Manual"];
  if (record.status !== "succeeded") {
    parts.push("failed");
  } else {
    if (typeof record.ssim === "number") parts.push(`SSIM ${formatSsim(record.ssim)}`);
    parts.push(formatBytes(record.svg_bytes));
  }
  if (record.tries > 1) parts.push(`${record.tries} tries`);
  return parts.join(" · ");
}

/**
 * Return one record per input file, the newest (records come newest first), with `tries`: how
 * often it was converted. Each slider move or preset converts again; the user tweaks one logo,
 * so its card is replaced by the latest result instead of one card per tweak.
 */
export function latestPerFile(records) {
  const byFile = new Map();
  for (const record of records) {
    const key = record.file_id || record.conversion_id;
    const seen = byFile.get(key);
    if (seen) seen.tries += 1;
    else byFile.set(key, { ...record, tries: 1 });
  }
  return [...byFile.values()];
}

function ago(iso) {
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

/** Draw the history list; `onOpen(record)` reopens one. */
export function renderHistory(list, empty, records, onOpen) {
  list.replaceChildren();
  empty.hidden = records.length > 0;
  for (const record of records) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "history-item";
    button.dataset.id = record.conversion_id;
    const thumb = document.createElement("span");
    thumb.className = "thumb";
    if (record.svg_url) {
      const image = document.createElement("img");
      image.src = record.svg_url;
      image.alt = "";
      image.loading = "lazy";
      image.width = 56;
      image.height = 56;
      thumb.append(image);
    } else {
      thumb.textContent = "✕";
      thumb.classList.add("failed");
    }
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = record.filename;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = describe(record);
    const when = document.createElement("time");
    when.dateTime = record.created_at;
    when.textContent = ago(record.created_at);
    button.append(thumb, name, meta, when);
    button.disabled = record.status !== "succeeded";
    button.addEventListener("click", () => onOpen(record));
    item.append(button);
    list.append(item);
  }
}
