// The AI insights panel: what the models decided for this image, what it cost, what to try next.
// It reads /api/convert-ai's ai_metadata, or a stored record from /api/conversions/<id>/.

import { formatBytes, formatSsim } from "./files.js";

const STAGES = [
  ["decode", "Decode"],
  ["features", "Features"],
  ["prediction", "Prediction"],
  ["preparation", "Preparation"],
  ["trace", "Trace"],
  ["measure", "Measure"],
  ["other_candidates", "Other search work"],
  ["overhead", "Recording"],
];

/** Return ai_metadata-shaped data from a stored conversion record (for reopened conversions). */
export function metadataFromRecord(record) {
  const routing = record.routing || {};
  return {
    tier_used: record.tier,
    tier_requested: record.requested_tier,
    routing: {
      reason: routing.reason || "",
      estimates: routing.estimates || {},
      ...(routing.rescued ? { rescued: routing.rescued } : {}),
    },
    quality_prediction: record.predicted_ssim,
    predicted: record.prediction || {},
    actual_ssim: record.ssim,
    logo_type: record.logo_type || null,
    confidence: record.logo_type_confidence,
    parameters: record.parameters || {},
    preparation: record.preparation || {},
    fallback_used: record.fallback_used,
    problems: [...problemsOfRecord(routing), ...((record.design || {}).problems || [])],
    timings: { ...(record.timings || {}), total: record.total_ms },
    analysis: { attempts: routing.attempts || [] },
  };
}

/**
 * Return the problems a stored record's answer carried (as conversions/serializers.py's
 * problems_of): failed model steps, then every degradation (rescue, max_bytes not met, a search
 * cut short).
 */
export function problemsOfRecord(routing) {
  const problems = [...(routing.problems || [])];
  if (Array.isArray(routing.degraded)) return problems.concat(routing.degraded);
  if (routing.rescued) {
    problems.push(
      `rescue trace returned: ${routing.rescued}; give a longer time_budget (or none) for the ` +
        "tier's own result"
    );
  }
  return problems;
}

/** Return [{key, label, ms}] of where a conversion's time went, in pipeline order. */
export function timeBreakdown(timings) {
  const t = (name) => (typeof timings[name] === "number" ? timings[name] : 0);
  const preparation = t("best_prepare") || t("prepare");
  const trace = t("best_trace") || (timings.search === undefined ? t("trace") : 0);
  const measure = t("best_measure") || t("measure");
  const search = t("search");
  const parts = {
    decode: t("decode"),
    features: t("features") + t("analysis_cache"),
    prediction: t("classify") + t("predict") + t("routing"),
    preparation,
    trace,
    measure,
    other_candidates: Math.max(0, search - preparation - trace - measure),
  };
  const counted = Object.values(parts).reduce((a, b) => a + b, 0);
  parts.overhead = Math.max(0, t("total") - counted);
  return STAGES.map(([key, label]) => ({ key, label, ms: parts[key] })).filter((p) => p.ms >= 0.5);
}

/** Return suggestions (plain sentences) from what the response says about this conversion. */
export function suggestionsFor(meta, result, request) {
  const advice = [];
  const estimates = (meta.routing && meta.routing.estimates) || {};
  const used = estimates[String(meta.tier_used)];
  if (used) {
    for (const tier of ["1", "2"]) {
      const other = estimates[tier];
      if (!other || Number(tier) >= meta.tier_used) continue;
      const sameQuality = other.quality >= used.quality - 0.003;
      if (sameQuality && other.time_s > 0 && other.time_s <= used.time_s * 0.6) {
        advice.push(
          `Tier ${tier} is predicted to reach the same quality (${other.quality.toFixed(3)} vs ` +
            `${used.quality.toFixed(3)}) in ${fraction(other.time_s / used.time_s)} of the time: ` +
            "a good choice for batches."
        );
        break;
      }
    }
    // No gain of a higher tier is promised: the tiers' estimates are not calibrated (on 285
    // unseen logos, issue 19, tier 3 was worse than tier 2 on 51 and better on 36).
  }
  const target = request && request.target_quality;
  if (typeof target === "number" && typeof meta.actual_ssim === "number" && meta.actual_ssim < target) {
    advice.push(
      `The measured SSIM ${formatSsim(meta.actual_ssim)} is under your target ${target.toFixed(2)}: ` +
        (meta.tier_used < 3 ? "try tier 3, or " : "") +
        "check the difference view; photos and soft shadows rarely trace well."
    );
  }
  // A max_bytes no trace met is one of the answer's problems (listed below), with the bytes.
  const predicted = meta.quality_prediction;
  if (typeof predicted === "number" && typeof meta.actual_ssim === "number") {
    if (Math.abs(predicted - meta.actual_ssim) > 0.03) {
      advice.push(
        `The prediction was off by ${Math.abs(predicted - meta.actual_ssim).toFixed(3)}: this ` +
          "logo is unlike those the models learned from, so compare the result closely."
      );
    }
  }
  if (meta.fallback_used) {
    advice.push("The models could not decide for this image; vtracer's defaults were used.");
  }
  // Only when the SVG holds no gradient fill: a fitted gradient is no band of flat colour.
  if (meta.logo_type === "gradient" && !/<(linear|radial)Gradient/.test((result && result.svg) || "")) {
    advice.push("The gradients became bands of flat colour in the SVG; zoom in to check the steps.");
  }
  for (const problem of meta.problems || []) advice.push(String(problem));
  return advice;
}

/** Return how many gradient fills an SVG defines (0 when it is not known). */
export function gradientCount(svg) {
  if (typeof svg !== "string") return 0;
  return (svg.match(/<(linear|radial)Gradient\b/g) || []).length;
}

const TRACERS = { layers: "potrace per colour layer", vtracer: "vtracer" };

/**
 * Return [[name, value]] of the settings that really made the SVG: the tracer and its own
 * settings (potrace's σ and tolerance for a layers trace, never vtracer's), the preparation
 * (upscale, palette), gradients and refinement, and whether manual mode can reproduce it.
 */
export function settingsRows(meta, svg) {
  const prep = meta.preparation || {};
  const candidate = prep.candidate || {};
  const params = meta.parameters || {};
  const layers = candidate.tracer === "layers" || params.tracer === "layers";
  const rows = [];
  const tracer = TRACERS[layers ? "layers" : candidate.tracer];
  if (tracer) rows.push(["tracer", tracer]);
  const scale = prep.scale ? `${prep.scale}×` : "none";
  rows.push(["upscale", scale]);
  const colours = prep.max_colors ?? candidate.max_colors;
  const palette =
    prep.palette_size === 0
      ? "off"
      : prep.palette_size > 0
        ? `${prep.palette_size} colours`
        : `auto${colours ? `, at most ${colours} colours` : ""}`;
  rows.push(["palette", palette]);
  if (layers) {
    const sigma = candidate.sigma ?? params.sigma;
    if (sigma !== undefined) rows.push(["blur σ", `${sigma} input px`]);
    if (candidate.tolerance !== undefined) {
      rows.push(["curve tolerance", `${candidate.tolerance} traced px`]);
    } else if (params.opttolerance !== undefined) {
      rows.push(["curve tolerance", `${params.opttolerance} input px`]);
    }
    if (params.alphamax !== undefined) rows.push(["corner threshold (alphamax)", params.alphamax]);
    if (params.turdsize !== undefined) rows.push(["speckle", `${params.turdsize} input px²`]);
  } else {
    for (const [name, value] of Object.entries(params)) rows.push([name, value]);
  }
  const fills = gradientCount(svg);
  const gradients = fills > 0 ? `${fills} gradient fill${fills === 1 ? "" : "s"}` : "none";
  rows.push(["gradients", candidate.gradients ? gradients : `off${fills ? ` (${gradients})` : ""}`]);
  if (prep.refined !== undefined) {
    rows.push(["outlines", prep.refined ? "refined against the input" : "as traced"]);
  }
  rows.push(["manual mode", manualModeNote(layers, prep)]);
  return rows;
}

function manualModeNote(layers, prep) {
  if (layers) return "cannot reproduce this: it traces with vtracer only";
  const prepared = (prep.scale && prep.scale > 1) || prep.palette_size !== 0 || prep.refined;
  if (!prepared) return "these vtracer settings reproduce this trace";
  return (
    "these vtracer settings come close; the AI traced the image upscaled and snapped to its " +
    "palette" +
    (prep.refined ? ", then refined the outlines," : "") +
    " which manual mode does not"
  );
}

function fraction(ratio) {
  const names = { 2: "half", 3: "a third", 4: "a quarter", 5: "a fifth", 10: "a tenth" };
  const inverse = Math.round(1 / ratio);
  return names[inverse] || `${Math.round(ratio * 100)} %`;
}

function ssim(value) {
  return formatSsim(value);
}

function setText(id, value) {
  document.getElementById(id).textContent = value;
}

/** Fill the insights panel. */
export function renderInsights(meta, result, request) {
  const confidence =
    typeof meta.confidence === "number" ? ` (${Math.round(meta.confidence * 100)} % confident)` : "";
  setText("ai-logo-type", meta.logo_type ? meta.logo_type + confidence : "not classified");
  const requested = meta.tier_requested;
  const asked = requested === "auto" ? " (chosen by auto)" : "";
  setText("ai-tier", meta.tier_used == null ? "–" : `Tier ${meta.tier_used}${asked}`);
  setText("ai-ssim", `${ssim(meta.quality_prediction)} → ${ssim(meta.actual_ssim)}`);
  const predictedBytes = meta.predicted && meta.predicted.bytes;
  setText(
    "ai-bytes",
    `${predictedBytes ? formatBytes(Math.round(predictedBytes)) : "–"} → ${formatBytes(result.file_size)}` +
      (result.path_count == null ? "" : `, ${result.path_count} paths`)
  );
  const attempts = (meta.analysis && meta.analysis.attempts) || [];
  const tried = attempts.length
    ? ` ${attempts.length} candidate${attempts.length === 1 ? "" : "s"} traced.`
    : "";
  setText("ai-reason", (meta.routing && meta.routing.reason ? capitalise(meta.routing.reason) + "." : "–") + tried);

  const parts = timeBreakdown(meta.timings || {});
  const total = parts.reduce((sum, p) => sum + p.ms, 0) || 1;
  const timeline = document.getElementById("ai-timeline");
  const legend = document.getElementById("ai-timeline-legend");
  timeline.replaceChildren();
  legend.replaceChildren();
  for (const part of parts) {
    const bar = document.createElement("span");
    bar.className = "segment seg-" + part.key;
    bar.style.flexGrow = String(part.ms / total);
    timeline.append(bar);
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch seg-" + part.key;
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, `${part.label} ${formatMs(part.ms)}`);
    legend.append(item);
  }
  timeline.setAttribute(
    "aria-label",
    "Time breakdown: " + parts.map((p) => `${p.label} ${formatMs(p.ms)}`).join(", ")
  );

  const advice = suggestionsFor(meta, result, request);
  const list = document.getElementById("ai-suggestions");
  list.replaceChildren(
    ...advice.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    })
  );
  document.getElementById("ai-suggestions-box").hidden = advice.length === 0;

  const params = document.getElementById("ai-parameters");
  params.replaceChildren();
  for (const [name, value] of settingsRows(meta, result.svg)) {
    const row = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = name.replaceAll("_", " ");
    dd.textContent = String(value);
    row.append(dt, dd);
    params.append(row);
  }
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function formatMs(ms) {
  return ms >= 1000 ? (ms / 1000).toFixed(2) + " s" : Math.round(ms) + " ms";
}
