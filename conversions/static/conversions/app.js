// svgai page: upload a logo, convert it through the JSON API, show input and SVG side by side.
// Plain browser JavaScript, no build step. The SVG is only ever shown through an <img> data:
// URI, never inserted as markup, so nothing in it can run on this page.
"use strict";

(function () {
  const form = document.getElementById("convert-form");
  if (!form) return;

  const fileInput = document.getElementById("file");
  const dropZone = document.getElementById("drop-zone");
  const fileName = document.getElementById("file-name");
  const tierSelect = document.getElementById("tier");
  const options = document.getElementById("vtracer-options");
  const button = document.getElementById("convert-button");
  const busy = document.getElementById("busy");
  const errorBox = document.getElementById("error");
  const result = document.getElementById("result");
  const inputPreview = document.getElementById("input-preview");
  const svgPreview = document.getElementById("svg-preview");
  const download = document.getElementById("download");
  const aiBox = document.getElementById("ai-metadata");

  const INT_FIELDS = ["filter_speckle", "color_precision", "corner_threshold", "path_precision"];
  const CHOICE_FIELDS = ["colormode", "mode"];

  // Upload each chosen file once, however many times it is converted.
  let uploaded = { file: null, fileId: null };
  let previewUrl = null;

  function text(id, value) {
    document.getElementById(id).textContent = value;
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
  }

  function engine() {
    const checked = form.querySelector('input[name="engine"]:checked');
    return checked ? checked.value : "legacy";
  }

  function syncMode() {
    const ai = engine() === "ai";
    tierSelect.disabled = !ai;
    options.disabled = ai;
  }

  function chosenFile() {
    return fileInput.files && fileInput.files.length ? fileInput.files[0] : null;
  }

  function showChosen() {
    const file = chosenFile();
    fileName.textContent = file ? "Chosen: " + file.name + " (" + formatBytes(file.size) + ")" : "";
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = file ? URL.createObjectURL(file) : null;
    clearError();
  }

  function formatBytes(bytes) {
    if (typeof bytes !== "number") return "–";
    return bytes.toLocaleString() + " bytes (" + (bytes / 1024).toFixed(1) + " KB)";
  }

  // Every API error has the shape {"success": false, "error": "..."}; anything else (a proxy's
  // HTML page, a dropped connection) still gets a readable message.
  async function callApi(url, init) {
    let response;
    try {
      response = await fetch(url, Object.assign({ headers: { Accept: "application/json" } }, init));
    } catch (err) {
      return { ok: false, status: 0, body: { error: "Could not reach the server: " + err.message } };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!body || typeof body !== "object") {
      body = { error: "The server answered " + response.status + " " + response.statusText + "." };
    }
    const ok = response.ok && body.success !== false;
    if (!ok && !body.error) body.error = "The server answered " + response.status + ".";
    return { ok: ok, status: response.status, body: body };
  }

  async function uploadFile(file) {
    if (uploaded.file === file && uploaded.fileId) return { ok: true, fileId: uploaded.fileId };
    const data = new FormData();
    data.append("file", file, file.name);
    const answer = await callApi("/api/upload", { method: "POST", body: data });
    if (!answer.ok) return { ok: false, error: answer.body.error };
    uploaded = { file: file, fileId: answer.body.file_id };
    return { ok: true, fileId: answer.body.file_id };
  }

  function legacyPayload(fileId) {
    const payload = { file_id: fileId };
    CHOICE_FIELDS.forEach(function (name) {
      payload[name] = form.elements[name].value;
    });
    INT_FIELDS.forEach(function (name) {
      payload[name] = parseInt(form.elements[name].value, 10);
    });
    return payload;
  }

  function postJson(url, payload) {
    return callApi(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
    });
  }

  function showResult(body, ai) {
    const meta = ai ? body.ai_metadata || {} : null;
    // /api/convert answers "ssim"; /api/convert-ai reports it as ai_metadata.actual_ssim.
    const ssim = typeof body.ssim === "number" ? body.ssim : meta && meta.actual_ssim;
    inputPreview.src = previewUrl || "";
    svgPreview.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(body.svg || "");
    text("metric-ssim", typeof ssim === "number" ? ssim.toFixed(4) : "–");
    text("metric-size", formatBytes(body.file_size));
    text("metric-paths", body.path_count == null ? "–" : String(body.path_count));
    text(
      "metric-time",
      typeof body.processing_time === "number" ? body.processing_time.toFixed(2) + " s" : "–"
    );
    if (body.conversion_id) {
      download.href = "/api/conversions/" + encodeURIComponent(body.conversion_id) + "/svg";
      download.hidden = false;
    } else {
      download.hidden = true;
    }
    aiBox.hidden = !meta;
    if (meta) {
      const predicted = meta.quality_prediction;
      text("ai-tier", meta.tier_used == null ? "–" : String(meta.tier_used));
      text("ai-logo-type", meta.logo_type || "–");
      text("ai-predicted", typeof predicted === "number" ? predicted.toFixed(4) : "–");
      const params = meta.parameters || meta.parameters_used || body.parameters || null;
      text("ai-parameters", params ? JSON.stringify(params, null, 2) : "–");
    }
    result.hidden = false;
  }

  async function convert(event) {
    event.preventDefault();
    clearError();
    const file = chosenFile();
    if (!file) {
      showError("Choose an image first (or drop one on the box).");
      fileInput.focus();
      return;
    }
    const ai = engine() === "ai";
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    busy.textContent = "Uploading…";
    try {
      const upload = await uploadFile(file);
      if (!upload.ok) {
        result.hidden = true;
        showError(upload.error);
        return;
      }
      busy.textContent = "Converting…";
      const answer = ai
        ? await postJson("/api/convert-ai", { file_id: upload.fileId, tier: tierSelect.value })
        : await postJson("/api/convert", legacyPayload(upload.fileId));
      if (answer.status === 404 && answer.body.error && answer.body.error.includes("file_id")) {
        uploaded = { file: null, fileId: null }; // the stored upload is gone: send it again
      }
      if (!answer.ok) {
        let message = answer.body.error;
        if (ai && answer.status === 404 && !answer.body.error.includes("file_id")) {
          message += " AI mode is not available yet; the manual mode still works.";
        }
        result.hidden = true; // the previous result no longer matches the form
        showError(message);
        return;
      }
      showResult(answer.body, ai);
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
      busy.textContent = "";
    }
  }

  // Range sliders show their value next to them.
  INT_FIELDS.forEach(function (name) {
    const input = form.elements[name];
    const output = document.getElementById(name + "-value");
    if (input && output) {
      input.addEventListener("input", function () {
        output.textContent = input.value;
      });
    }
  });

  ["dragenter", "dragover"].forEach(function (type) {
    dropZone.addEventListener(type, function (event) {
      event.preventDefault();
      dropZone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    dropZone.addEventListener(type, function (event) {
      event.preventDefault();
      dropZone.classList.remove("dragging");
    });
  });
  dropZone.addEventListener("drop", function (event) {
    const files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    fileInput.files = files;
    showChosen();
  });

  fileInput.addEventListener("change", showChosen);
  form.querySelectorAll('input[name="engine"]').forEach(function (radio) {
    radio.addEventListener("change", syncMode);
  });
  form.addEventListener("submit", convert);
  syncMode();
  showChosen();
})();
