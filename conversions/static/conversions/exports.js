// The format menu beside Download and the size controls: SVG with no size downloads the SVG the
// page holds; anything else is fetched from GET /api/conversions/<id>/download, which derives
// the file from the stored SVG (the source of truth).
import { saveBlob, stem } from "./files.js";

const $ = (id) => document.getElementById(id);
// The page renders the dpi input with the API's default: a dpi left at it is not sent.
const defaultDpi = () => Number($("size-dpi").defaultValue);

/** Return the download's query: the format, and the size when a side is given. */
export function downloadQuery() {
  const query = new URLSearchParams({ format: $("download-format").value });
  const width = $("size-width").value.trim();
  const height = $("size-height").value.trim();
  const dpi = $("size-dpi").value.trim();
  if (width) query.set("width", width);
  if (height) query.set("height", height);
  if (width || height) query.set("unit", $("size-unit").value);
  if (dpi && Number(dpi) !== defaultDpi()) query.set("dpi", dpi);
  return query;
}

/**
 * Return what a server batch puts in its ZIP: the SVG, the menu's format beside it, and the
 * size as the batch API takes it (`formats`, `output_size` as JSON), for a FormData.
 */
export function batchOutput() {
  const query = downloadQuery();
  const fields = { formats: [...new Set(["svg", query.get("format")])].join(",") };
  if (query.has("width") || query.has("height")) {
    const size = { unit: query.get("unit"), dpi: Number(query.get("dpi") || defaultDpi()) };
    if (query.has("width")) size.width = Number(query.get("width"));
    if (query.has("height")) size.height = Number(query.get("height"));
    fields.output_size = JSON.stringify(size);
  }
  return fields;
}

/** Return whether the download needs the server: another format, a size or a dpi. */
function fromServer(query) {
  return query.get("format") !== "svg" || [...query.keys()].length > 1;
}

function errorText(body, status) {
  if (!body || typeof body.error !== "string") return `The server answered ${status}.`;
  let message = body.error;
  for (const field of Object.keys(body.errors || {})) {
    if (message.startsWith(field + ": ")) message = message.slice(field.length + 2);
  }
  return message.charAt(0).toUpperCase() + message.slice(1);
}

function attachmentName(response, fallback) {
  const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  return match ? match[1] : fallback;
}

/**
 * Wire the menu and the size controls to the Download link. `current()` returns the shown
 * result ({body}) and the file it came from, or null.
 */
export function setupExports(current) {
  const link = $("download-svg");
  const status = $("output-status");
  const label = () => {
    link.textContent = `Download ${$("download-format").value.toUpperCase()}`;
  };
  $("download-format").addEventListener("change", label);
  link.addEventListener("click", async (event) => {
    const shown = current();
    const query = downloadQuery();
    if (!shown || !fromServer(query)) return; // the page's own SVG, as the link holds it
    event.preventDefault();
    const id = shown.result.body.conversion_id;
    if (!id) {
      status.textContent = "This result is not stored on the server: convert it again to download other formats.";
      return;
    }
    const format = query.get("format");
    status.textContent = `Preparing the ${format.toUpperCase()}…`;
    let response;
    try {
      response = await fetch(`/api/conversions/${encodeURIComponent(id)}/download?${query}`, { credentials: "same-origin" });
    } catch {
      status.textContent = "Could not reach the server; check the connection and try again.";
      return;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      status.textContent = errorText(body, response.status);
      return;
    }
    const blob = await response.blob();
    const name = attachmentName(response, `${stem(shown.name)}.${format}`);
    saveBlob(blob, name);
    status.textContent = `Downloaded ${name} (${Math.max(1, Math.round(blob.size / 1024))} KB).`;
  });
  label();
}
