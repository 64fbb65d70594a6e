// svgai converter page: choose (drop, pick or paste) a logo, convert it through the JSON API with
// the AI tiers or vtracer settings, compare input and SVG, save the result. Plain JavaScript
// modules, no build step. The SVG is only ever shown through <img> (a data:image/svg+xml URL),
// never inserted as markup, so nothing in it can run on this page.

import { BatchView } from "./batch.js";
import { designCost, designSettings, restoreDesign, setupDesign } from "./design.js";
import { batchOutput, setupExports } from "./exports.js";
import { checkFile, copyText, formatBytes, formatSsim, inspectImage, stem } from "./files.js";
import { latestPerFile, recallInput, rememberInput, renderHistory } from "./history.js";
import { formatMs, metadataFromRecord, renderInsights } from "./insights.js";
import { CompareViewer } from "./viewer.js";

const API = {
  upload: "/api/upload",
  convert: "/api/convert",
  convertAi: "/api/convert-ai",
  health: "/api/ai-health",
  conversions: "/api/conversions/",
  batches: "/api/batches",
};

const MANUAL_FIELDS = {
  choice: ["colormode", "hierarchical", "mode"],
  int: ["filter_speckle", "color_precision", "layer_difference", "corner_threshold", "max_iterations", "splice_threshold", "path_precision"],
  float: ["length_threshold"],
};

const PRESETS = {
  logo: { colormode: "color", hierarchical: "stacked", mode: "spline", filter_speckle: 4, color_precision: 6, layer_difference: 16, corner_threshold: 60, length_threshold: 4, max_iterations: 10, splice_threshold: 45, path_precision: 2 },
  icon: { colormode: "color", hierarchical: "stacked", mode: "spline", filter_speckle: 2, color_precision: 6, layer_difference: 24, corner_threshold: 45, length_threshold: 2, max_iterations: 10, splice_threshold: 45, path_precision: 2 },
  illustration: { colormode: "color", hierarchical: "stacked", mode: "spline", filter_speckle: 8, color_precision: 8, layer_difference: 8, corner_threshold: 60, length_threshold: 4, max_iterations: 10, splice_threshold: 45, path_precision: 2 },
  pixel: { colormode: "color", hierarchical: "stacked", mode: "none", filter_speckle: 0, color_precision: 8, layer_difference: 0, corner_threshold: 60, length_threshold: 4, max_iterations: 10, splice_threshold: 45, path_precision: 0 },
  bw: { colormode: "binary", hierarchical: "stacked", mode: "spline", filter_speckle: 4, color_precision: 6, layer_difference: 16, corner_threshold: 60, length_threshold: 4, max_iterations: 10, splice_threshold: 45, path_precision: 2 },
};

// An SVG smaller than this holds no more than the <svg> element and a speck (the empty result
// of the "Black and white" preset on a light logo is 94 B): not a usable conversion.
const NEAR_EMPTY_BYTES = 200;

const COMPONENT_NAMES = { quality_predictor: "the quality predictor", logo_type: "the logo-type classifier" };

// The progress bar's "~N s expected" until the server's recent means (/api/ai-health) replace
// it: per tier, the p95 of `manage.py benchmark` (README's tier table) plus at most a second for
// the upload and the answer; tests/test_readme_numbers.py holds them to the stored results.
const TYPICAL_SECONDS = { 1: 1.0, 2: 2.0, 3: 4.0, auto: 2.0, manual: 0.3 };

const $ = (id) => document.getElementById(id);
const limits = JSON.parse($("page-limits").textContent);
const form = $("convert-form");
const toggle = $("ai-toggle");
const viewer = new CompareViewer($("viewer"), {
  zoomLabel: $("zoom-level"),
  split: $("split"),
  diffLegend: $("diff-legend"),
  diffSummary: $("diff-summary"),
});

const state = {
  file: null, // the File being converted
  input: null, // {url, width, height, hasAlpha}
  result: null, // {body, kind, request}
  svgUrl: null,
  downloadUrl: null,
  ai: { status: "checking", reason: "", typical: {} },
  inflight: null,
  uploads: new WeakMap(), // File → file_id: each file is uploaded once, however often converted
};

// ---------------------------------------------------------------- API

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** Call the API; every answer becomes {ok, status, body} with a readable body.error. */
async function callApi(url, init = {}) {
  const headers = { Accept: "application/json", ...(init.headers || {}) };
  if (init.method && init.method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, { ...init, headers, credentials: "same-origin" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return { ok: false, status: 0, body: { error: "Could not reach the server; check the connection and try again." } };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!body || typeof body !== "object") {
    body = { error: `The server answered ${response.status} ${response.statusText}.` };
  }
  const ok = response.ok && body.success !== false;
  if (!ok) body.error = readableError(body, response);
  // A rate limit (429) or a full queue (503 with Retry-After) says when to try again.
  const wait = parseFloat(response.headers.get("Retry-After"));
  const busy = response.status === 429 || (response.status === 503 && Number.isFinite(wait));
  const retryAfter = busy ? (Number.isFinite(wait) ? wait : 5) : 0;
  return { ok, status: response.status, body, retryAfter };
}

// The API's error reads "<field>: <message>"; people see the message without the field name.
function readableError(body, response) {
  let message = typeof body.error === "string" && body.error ? body.error : `The server answered ${response.status}.`;
  for (const field of Object.keys(body.errors || {})) {
    if (message.startsWith(field + ": ")) message = message.slice(field.length + 2);
  }
  message = message.charAt(0).toUpperCase() + message.slice(1);
  if (response.status === 429) {
    const wait = response.headers.get("Retry-After");
    message = `Too many conversions at once${wait ? `: try again in ${wait} s` : ""}. ${message}`;
  }
  return message;
}

function postJson(url, payload, signal) {
  return callApi(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
    signal,
  });
}

async function uploadFile(file, signal) {
  const known = state.uploads.get(file);
  if (known) return { ok: true, fileId: known };
  const data = new FormData();
  data.append("file", file, file.name);
  const answer = await callApi(API.upload, { method: "POST", body: data, signal });
  if (!answer.ok) return { ok: false, error: answer.body.error, retryAfter: answer.retryAfter };
  state.uploads.set(file, answer.body.file_id);
  rememberInput(answer.body.file_id, { blob: file, name: file.name, type: file.type });
  return { ok: true, fileId: answer.body.file_id };
}

function manualSettings() {
  const payload = {};
  for (const name of MANUAL_FIELDS.choice) payload[name] = form.elements[name].value;
  for (const name of MANUAL_FIELDS.int) payload[name] = parseInt(form.elements[name].value, 10);
  for (const name of MANUAL_FIELDS.float) payload[name] = parseFloat(form.elements[name].value);
  return { ...payload, ...designSettings() };
}

function aiSettings() {
  const tier = form.elements.tier.value;
  const request = {
    tier: tier === "auto" ? "auto" : Number(tier),
    target_quality: parseFloat(form.elements.target_quality.value),
    include_analysis: true,
  };
  const budget = parseFloat($("time_budget").value);
  if (Number.isFinite(budget) && budget >= 0.05) request.time_budget = Math.min(60, budget);
  const maxKb = parseFloat($("max_kb").value);
  if (Number.isFinite(maxKb) && maxKb > 0) request.max_bytes = Math.max(256, Math.round(maxKb * 1024));
  return { ...request, ...designSettings() };
}

function aiActive() {
  return toggle.checked && state.ai.status !== "unavailable";
}

/**
 * Upload (once) and convert one file with the page's current settings; AI answers 503 when its
 * models are missing, and then the same file is converted with the vtracer settings instead.
 * Resolves to {ok, body, kind, request, fileId} or {ok: false, error}.
 */
async function convertFile(file, signal, onStage) {
  let result = await convertOnce(file, signal, onStage);
  if (result.gone) result = await convertOnce(file, signal, onStage); // uploaded again
  return result;
}

async function convertOnce(file, signal, onStage) {
  onStage("uploading");
  const upload = await uploadFile(file, signal);
  if (!upload.ok) return { ok: false, error: upload.error, retryAfter: upload.retryAfter };
  onStage("converting");
  if (aiActive()) {
    const request = aiSettings();
    const answer = await postJson(API.convertAi, { file_id: upload.fileId, ...request }, signal);
    if (answer.status === 503 && answer.body.fallback_suggestion !== undefined) {
      const match = /unavailable:\s*([^.]+)/.exec(answer.body.error);
      markAiUnavailable(match ? match[1] : answer.body.error);
    } else {
      return finish(answer, file, "ai", request, upload.fileId);
    }
  }
  const request = manualSettings();
  const answer = await postJson(API.convert, { file_id: upload.fileId, ...request }, signal);
  return finish(answer, file, "manual", request, upload.fileId);
}

function finish(answer, file, kind, request, fileId) {
  if (answer.status === 404 && /file_id|upload/i.test(answer.body.error)) {
    // The stored upload is gone (retention, another server): send the file again.
    state.uploads.delete(file);
    return { ok: false, gone: true, error: answer.body.error };
  }
  if (!answer.ok) return { ok: false, error: answer.body.error, retryAfter: answer.retryAfter };
  return { ok: true, body: answer.body, kind, request, fileId };
}

// ---------------------------------------------------------------- AI status

async function checkAi() {
  const started = performance.now();
  const answer = await callApi(API.health);
  const ms = performance.now() - started;
  const body = answer.body;
  const status = body.overall_status;
  const broken = Object.entries(body.components || {}).filter(
    ([, component]) => component.status && component.status !== "healthy"
  );
  // Model components carry a version; the others (workers, predictions, …) report a state.
  const models = broken.filter(([, component]) => "version" in component);
  const others = broken.filter(([, component]) => !("version" in component));
  const names = models.map(([name]) => COMPONENT_NAMES[name] || name.replaceAll("_", " "));
  let summary = names.length ? `${names.join(" and ")} ${names.length > 1 ? "are" : "is"} not loaded` : "";
  if (!summary && others.length) summary = others.map(([name, c]) => `${name.replaceAll("_", " ")} ${c.status}`).join(", ");
  const details = broken
    .map(([, component]) => component.error || component.last_problem)
    .filter(Boolean)
    .map((text) => capitalise(String(text)).replace(/([^.])$/, "$1."))
    .join(" ");
  const tiers = (body.performance_metrics && body.performance_metrics.tiers) || {};
  for (const [tier, figures] of Object.entries(tiers)) {
    if (figures.count >= 3 && figures.mean_time_ms) state.ai.typical[tier] = figures.mean_time_ms / 1000;
  }
  if (status === "healthy") {
    setAiStatus("healthy", "AI available", `Models loaded; checked in ${Math.round(ms)} ms.`);
  } else if (status === "degraded") {
    const what = summary ? capitalise(summary) + "; AI still converts." : "Some AI parts are missing.";
    setAiStatus("degraded", "AI degraded", [what, details].filter(Boolean).join(" "));
  } else if (answer.status === 0) {
    setAiStatus("unknown", "AI status unknown", body.error);
  } else {
    markAiUnavailable(summary || body.error || "the models are not loaded", details);
  }
  $("ai-status").dataset.checkedMs = String(Math.round(ms));
}

function setAiStatus(status, label, reason) {
  if (status !== "unavailable" && state.ai.status === "unavailable") {
    toggle.disabled = false; // AI is back (re-checked): the user may switch it on again
    showNotice("");
  }
  state.ai.status = status;
  state.ai.reason = reason;
  const pill = $("ai-status");
  pill.dataset.state = status;
  $("ai-status-text").textContent = label;
  $("ai-status-reason").textContent = reason;
}

function markAiUnavailable(reason, details = "") {
  const why = String(reason || "the models are not loaded").replace(/\.$/, "");
  setAiStatus("unavailable", "AI unavailable", [capitalise(why) + ".", details].filter(Boolean).join(" "));
  toggle.checked = false;
  toggle.disabled = true;
  showNotice(`AI is unavailable (${why}). Converting with the vtracer settings instead.`);
  syncMode();
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function showNotice(message) {
  const notice = $("notice");
  notice.textContent = message;
  notice.hidden = !message;
}

// ---------------------------------------------------------------- mode and settings

function syncMode() {
  const ai = aiActive();
  $("ai-options").hidden = !ai;
  $("vtracer-options").hidden = ai;
  // The insights describe an AI result; they never outlive the mode that made them.
  $("insights").hidden = !(ai && state.result && state.result.kind === "ai");
  updateTierHint();
}

function typicalSeconds(kind, request) {
  if (kind === "manual") return TYPICAL_SECONDS.manual;
  const tier = String(request.tier);
  let seconds = state.ai.typical[tier] ?? TYPICAL_SECONDS[tier] ?? TYPICAL_SECONDS.auto;
  if (tier === "3" && request.time_budget) seconds = request.time_budget + 0.5;
  return seconds;
}

/**
 * Describe the selected tier once, beside the menu: what it does and, when this server has timed
 * enough of its conversions (/api/ai-health), their mean. No guessed number is shown as a fact.
 * The time budget's placeholder and hint say what an empty budget means for that tier.
 */
function updateTierHint() {
  const tier = form.elements.tier.value;
  const measured = state.ai.typical[tier];
  const timing = measured ? ` Recently ${measured.toFixed(1)} s on this server.` : "";
  const what = {
    auto: "Picks the cheapest tier predicted to reach your target quality.",
    1: "Ranks every candidate with the predictor and traces the best one.",
    2: "Traces the predictor's best two in parallel, keeps the better and refines its outlines.",
    3: "Measures the best four, searches nearby settings, then refines the best's outlines.",
  }[tier];
  $("tier-hint").textContent = what + timing;
  const searched = Number(limits.tier3_budget_s).toFixed(1);
  $("time_budget").placeholder = tier === "3" ? searched : "none";
  $("time_budget-hint").textContent = {
    auto: `Empty: no limit on the choice; tier 3, if chosen, searches ${searched} s.`,
    1: "Empty: no limit; tier 1 traces its one pick. A budget makes it pick what fits.",
    2: "Empty: no limit; tier 2 traces its two picks. A budget makes it pick what fits.",
    3: `Empty: tier 3 searches ${searched} s.`,
  }[tier];
}

function applyPreset(name) {
  const preset = PRESETS[name];
  if (!preset) return;
  for (const [field, value] of Object.entries(preset)) {
    form.elements[field].value = String(value);
    const output = $(field + "-value");
    if (output) output.textContent = String(value);
  }
}

// ---------------------------------------------------------------- progress

const progress = {
  timer: null,
  start(expected) {
    this.started = performance.now();
    this.expected = expected;
    $("progress").hidden = false;
    $("cancel-button").hidden = false;
    form.setAttribute("aria-busy", "true");
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 100);
    this.tick();
  },
  stage(text) {
    $("progress-stage").textContent = text;
  },
  tick() {
    const elapsed = (performance.now() - this.started) / 1000;
    const share = Math.min(0.95, elapsed / this.expected);
    const bar = $("progress-bar");
    bar.firstElementChild.style.width = Math.round(share * 100) + "%";
    bar.setAttribute("aria-valuenow", String(Math.round(share * 100)));
    bar.classList.toggle("overdue", elapsed > this.expected);
    const over = elapsed > this.expected * 1.5 ? " · taking longer than usual" : "";
    $("progress-time").textContent = `${elapsed.toFixed(1)} s of ~${this.expected.toFixed(1)} s expected${over}`;
  },
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    $("progress").hidden = true;
    $("cancel-button").hidden = true;
    form.removeAttribute("aria-busy");
  },
};

// ---------------------------------------------------------------- errors

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  $("error").textContent = "";
  $("error").hidden = true;
}

// ---------------------------------------------------------------- choosing files

async function handleFiles(fileList) {
  const files = [...fileList].filter(Boolean);
  if (!files.length) return;
  if (files.length > 1) {
    clearError(); // the previous file's error is not this batch's
    batch.run(files, aiActive() ? "AI settings" : "vtracer settings");
    return;
  }
  await selectFile(files[0]);
}

async function selectFile(file) {
  clearError();
  const problem = checkFile(file, limits);
  if (problem) {
    showError(problem);
    return;
  }
  let info;
  try {
    info = await inspectImage(file);
  } catch (error) {
    showError(error.message);
    return;
  }
  if (info.width * info.height > limits.max_pixels) {
    URL.revokeObjectURL(info.url);
    const side = Math.floor(Math.sqrt(limits.max_pixels));
    showError(`${file.name} is ${info.width}×${info.height} pixels; the limit is ${side}×${side}. Export it smaller.`);
    return;
  }
  if (state.input) URL.revokeObjectURL(state.input.url);
  state.file = file;
  state.input = info;
  state.result = null;
  showInput(file, info);
  viewer.clearSvg();
  viewer.setImages({ inputUrl: info.url, width: info.width, height: info.height });
  $("output").hidden = true;
  $("insights").hidden = true;
  await convert({ scroll: true });
}

function showInput(file, info) {
  $("input-card").hidden = false;
  $("input-thumb").src = info.url;
  $("input-name").textContent = file.name;
  $("input-size").textContent = formatBytes(file.size);
  $("input-dims").textContent = `${info.width} × ${info.height} px`;
  $("input-alpha").textContent = info.hasAlpha ? "yes (transparent background)" : "none";
}

// ---------------------------------------------------------------- converting

async function convert({ scroll = false, focus = false } = {}) {
  if (!state.file) {
    showError("Choose an image first: drop it on the page, paste it or use “Choose images”.");
    return;
  }
  if (state.inflight) state.inflight.abort(); // a newer request replaces the one in flight
  const controller = new AbortController();
  state.inflight = controller;
  clearError();
  const kind = aiActive() ? "ai" : "manual";
  const request = kind === "ai" ? aiSettings() : manualSettings();
  const expected = typicalSeconds(kind, request);
  progress.start(expected);
  const tierText = kind === "ai" ? `AI, tier ${request.tier}` : "vtracer settings";
  let result;
  try {
    result = await convertFile(state.file, controller.signal, (stage) => {
      progress.stage(stage === "uploading" ? `Uploading ${state.file.name}…` : `Converting with ${tierText}…`);
    });
  } catch (error) {
    if (error.name !== "AbortError") showError(error.message);
    return;
  } finally {
    if (state.inflight === controller) {
      state.inflight = null;
      progress.stop();
    }
  }
  if (controller.signal.aborted) return;
  if (!result.ok) {
    showError(result.error);
    return;
  }
  showResult(result);
  refreshHistory();
  if (scroll) revealResult(focus);
}

function cancelConversion() {
  if (!state.inflight) return;
  state.inflight.abort();
  state.inflight = null;
  progress.stop();
  showError("Conversion cancelled.");
}

function svgDataUrl(svg) {
  return "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg || "");
}

/** Show a conversion: `result` is {body, kind, request} as convertFile or a reopened record give. */
function showResult(result) {
  const body = result.body;
  state.result = result;
  state.svgUrl = svgDataUrl(body.svg);
  viewer.setImages({ svgUrl: state.svgUrl, width: state.input.width, height: state.input.height, keepView: true });
  const meta = result.kind === "ai" ? body.ai_metadata || {} : null;
  const ssim = typeof body.ssim === "number" ? body.ssim : meta && meta.actual_ssim;
  const before = state.file ? state.file.size : null;
  const problem = emptyResultProblem(body, result.kind);
  $("result-problem").textContent = problem;
  $("result-problem").hidden = !problem;
  $("output").dataset.problem = problem ? "empty" : "";
  let size = formatBytes(body.file_size);
  if (problem) {
    size += " (empty)"; // a smaller file is no gain when the logo is gone
  } else if (before) {
    const change = Math.round((100 * (body.file_size - before)) / before);
    size = `${formatBytes(before)} → ${size} (${change > 0 ? "+" : "−"}${Math.abs(change)} %)`;
  }
  $("metric-size").textContent = size;
  $("metric-ssim").textContent = formatSsim(ssim);
  $("metric-paths").textContent = body.path_count == null ? "–" : String(body.path_count);
  $("metric-time").textContent = typeof body.processing_time === "number" ? formatMs(body.processing_time * 1000) : "–";
  const blob = new Blob([body.svg || ""], { type: "image/svg+xml" });
  if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
  state.downloadUrl = URL.createObjectURL(blob);
  const download = $("download-svg");
  download.href = state.downloadUrl;
  download.download = stem(state.file ? state.file.name : body.filename) + ".svg";
  const cost = designCost(body.design);
  $("design-cost").textContent = cost;
  $("design-cost").hidden = !cost;
  $("output").hidden = false;
  $("output-status").textContent = "";
  if (meta) renderInsights(meta, body, result.request);
  syncMode();
}

/** Return why a result is empty or nearly so, with what to try instead; "" for a usable one. */
function emptyResultProblem(body, kind) {
  const paths = body.path_count;
  const empty = paths === 0 || (typeof body.file_size === "number" && body.file_size < NEAR_EMPTY_BYTES);
  if (!empty) return "";
  const shapes = paths === 0 ? "no shapes" : paths == null ? "almost nothing" : `only ${paths} tiny shape${paths === 1 ? "" : "s"}`;
  let advice;
  if (kind === "ai") {
    advice = "Try tier 3 or a higher target quality, or switch AI settings off and use the Logo preset.";
  } else if (form.elements.colormode.value === "binary") {
    advice =
      "Black and white keeps only the dark parts of an image, and this logo has none dark enough: " +
      "choose the Logo preset (colour) instead.";
  } else {
    advice = "These settings dropped every shape: choose the Logo preset, or lower “Filter speckle”.";
  }
  return `The SVG is empty (${shapes}, ${formatBytes(body.file_size)}): it does not show your logo. ${advice}`;
}

function revealResult(focus) {
  const workspace = $("workspace");
  const rect = workspace.getBoundingClientRect();
  if (rect.top < 0 || rect.top > window.innerHeight * 0.5) {
    workspace.scrollIntoView({ behavior: "smooth", block: "start" });
  }
  if (focus) workspace.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- history and reopening

async function refreshHistory() {
  const answer = await callApi(API.conversions);
  if (!answer.ok) return;
  const records = latestPerFile(answer.body.results || []).slice(0, 12);
  renderHistory($("history-list"), $("history-empty"), records, reopen);
}

/** Load a stored conversion into the compare view, with its settings in the controls. */
async function reopen(record, localFile = null) {
  clearError();
  const answer = await callApi(`${API.conversions}${encodeURIComponent(record.conversion_id)}/`);
  if (!answer.ok) {
    showError(answer.body.error);
    return;
  }
  const full = answer.body;
  let file = localFile;
  if (!file) {
    const stored = await recallInput(full.file_id);
    if (stored) file = new File([stored.blob], stored.name, { type: stored.type || stored.blob.type });
  }
  if (file) {
    const info = await inspectImage(file).catch(() => null);
    if (info) {
      if (state.input) URL.revokeObjectURL(state.input.url);
      state.file = file;
      state.input = info;
      state.uploads.set(file, full.file_id);
      showInput(file, info);
      viewer.setImages({ inputUrl: info.url, width: info.width, height: info.height });
    }
  } else {
    // Made in another browser: only the SVG is here. Size the view from the SVG itself.
    const probe = new Image();
    probe.src = svgDataUrl(full.svg);
    await probe.decode().catch(() => null);
    state.file = null;
    state.input = { url: "", width: probe.naturalWidth || 512, height: probe.naturalHeight || 512 };
    viewer.setImages({ inputUrl: "", width: state.input.width, height: state.input.height });
    $("input-card").hidden = true;
    showNotice(`The input of ${full.filename} is not stored in this browser; only its SVG is shown.`);
  }
  const kind = full.kind === "ai" ? "ai" : "manual";
  restoreDesign(full);
  if (kind === "manual") {
    toggle.checked = false;
    for (const [name, value] of Object.entries(full.parameters || {})) {
      if (form.elements[name]) form.elements[name].value = String(value);
      const output = $(name + "-value");
      if (output) output.textContent = String(value);
    }
    $("preset").value = "";
  } else if (!toggle.disabled) {
    toggle.checked = true;
    form.elements.tier.value = String(full.requested_tier ?? full.tier ?? "auto");
    if (full.request && typeof full.request.target_quality === "number") {
      form.elements.target_quality.value = String(full.request.target_quality);
      $("target_quality-value").textContent = full.request.target_quality.toFixed(2);
    }
  }
  const body = {
    svg: full.svg,
    ssim: full.ssim,
    file_size: full.svg_bytes,
    path_count: full.path_count,
    processing_time: full.total_ms / 1000,
    conversion_id: full.conversion_id,
    filename: full.filename,
    design: full.design,
    ai_metadata: kind === "ai" ? metadataFromRecord(full) : undefined,
  };
  showResult({ body, kind, request: full.request || {} });
  revealResult(true);
}

// ---------------------------------------------------------------- batch

const batch = new BatchView($("batch"), {
  limits,
  api: {
    convertOne: (file, signal, onStage) => convertFile(file, signal, onStage).catch((error) => ({ ok: false, error: error.message })),
    startServerBatch(files, signal) {
      const data = new FormData();
      for (const file of files) data.append("files", file, file.name);
      const ai = aiActive();
      const settings = ai ? aiSettings() : manualSettings();
      delete settings.include_analysis;
      data.append("converter", ai ? "ai" : "vtracer");
      for (const [name, value] of Object.entries(settings)) data.append(name, String(value));
      // The ZIP holds the SVGs and the format and size chosen beside Download.
      for (const [name, value] of Object.entries(batchOutput())) data.append(name, value);
      return callApi(API.batches, { method: "POST", body: data, signal });
    },
    pollServerBatch: (url, signal) => callApi(url, { signal }),
    cancelServerBatch: (url) => callApi(url, { method: "POST" }),
  },
  onFinished: () => refreshHistory(),
  onOpen(item) {
    if (item.result) {
      reopenBatchItem(item);
    } else {
      reopen({ conversion_id: item.conversionId }, item.file);
    }
  },
});

async function reopenBatchItem(item) {
  const info = await inspectImage(item.file);
  if (state.input) URL.revokeObjectURL(state.input.url);
  state.file = item.file;
  state.input = info;
  showInput(item.file, info);
  viewer.setImages({ inputUrl: info.url, width: info.width, height: info.height });
  showResult({ body: item.result, kind: item.result.ai_metadata ? "ai" : "manual", request: {} });
  revealResult(true);
  refreshHistory();
}

// ---------------------------------------------------------------- wiring

let reconvertTimer = null;
function reconvertSoon(delay) {
  if (!state.file) return;
  clearTimeout(reconvertTimer);
  reconvertTimer = setTimeout(() => convert(), delay);
}

for (const name of [...MANUAL_FIELDS.int, ...MANUAL_FIELDS.float, "target_quality"]) {
  const input = form.elements[name];
  const output = $(name + "-value");
  input.addEventListener("input", () => {
    if (output) output.textContent = name === "target_quality" ? Number(input.value).toFixed(2) : input.value;
  });
}
$("vtracer-options").addEventListener("input", (event) => {
  if (event.target.id === "preset") return;
  $("preset").value = "";
  reconvertSoon(350);
});
$("preset").addEventListener("change", (event) => {
  applyPreset(event.target.value);
  reconvertSoon(0);
});
setupDesign(() => reconvertSoon(350));
$("ai-options").addEventListener("change", () => {
  updateTierHint();
  reconvertSoon(400);
});
toggle.addEventListener("change", () => {
  syncMode();
  reconvertSoon(150);
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  convert({ scroll: true, focus: true });
});
$("cancel-button").addEventListener("click", cancelConversion);

const fileInput = $("file");
fileInput.addEventListener("change", () => {
  handleFiles(fileInput.files);
  fileInput.value = ""; // choosing the same file again converts it again
});

// Files may be dropped anywhere on the page; the drop zone shows where.
const dropZone = $("drop-zone");
let dragDepth = 0;
window.addEventListener("dragenter", (event) => {
  if (!event.dataTransfer || ![...event.dataTransfer.types].includes("Files")) return;
  dragDepth++;
  dropZone.classList.add("dragging");
});
window.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) dropZone.classList.remove("dragging");
});
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  dropZone.classList.remove("dragging");
  if (event.dataTransfer && event.dataTransfer.files.length) handleFiles(event.dataTransfer.files);
});
document.addEventListener("paste", (event) => {
  const items = event.clipboardData ? [...event.clipboardData.items] : [];
  const files = items.filter((item) => item.kind === "file").map((item) => item.getAsFile());
  if (!files.length) return;
  event.preventDefault();
  const named = files.map((file) =>
    file.name && file.name !== "image.png" ? file : new File([file], `pasted-${Date.now()}.${(file.type.split("/")[1] || "png").replace("jpeg", "jpg")}`, { type: file.type })
  );
  handleFiles(named);
});

// Compare view controls.
for (const radio of form.ownerDocument.querySelectorAll('input[name="view"]')) {
  radio.addEventListener("change", () => viewer.setView(radio.value));
}
for (const radio of document.querySelectorAll('input[name="bg"]')) {
  radio.addEventListener("change", () => viewer.setBackground(radio.value, $("bg-color").value));
}
$("bg-color").addEventListener("input", (event) => {
  document.querySelector('input[name="bg"][value="custom"]').checked = true;
  viewer.setBackground("custom", event.target.value);
});
$("split").addEventListener("input", (event) => viewer.setSplit(event.target.value));
$("show-diff").addEventListener("change", (event) => viewer.setDiff(event.target.checked));
$("zoom-in").addEventListener("click", () => viewer.zoomIn());
$("zoom-out").addEventListener("click", () => viewer.zoomOut());
$("zoom-fit").addEventListener("click", () => viewer.fit());
$("zoom-100").addEventListener("click", () => viewer.actualSize());

// Output.
$("copy-svg").addEventListener("click", async () => {
  if (!state.result) return;
  const svg = state.result.body.svg;
  const ok = await copyText(svg);
  $("output-status").textContent = ok ? `Copied ${formatBytes(new Blob([svg]).size)} of SVG code.` : "Copying was refused by the browser.";
});
setupExports(() =>
  state.result ? { result: state.result, name: state.file ? state.file.name : state.result.body.filename } : null,
);
$("history-refresh").addEventListener("click", refreshHistory);
// Clicking (or pressing Enter on) the AI status asks the server again.
$("ai-status").addEventListener("click", () => checkAi().then(syncMode));
$("ai-status").addEventListener("keydown", (event) => {
  if (event.key === "Enter") checkAi().then(syncMode);
});

applyPreset("logo");
$("target_quality-value").textContent = Number(form.elements.target_quality.value).toFixed(2);
syncMode();
checkAi().then(updateTierHint);
refreshHistory();
document.body.dataset.ready = "true";
