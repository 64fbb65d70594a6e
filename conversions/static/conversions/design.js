// The "Colours and shapes" group: max_colors, a palette of #rrggbb swatches, shape_stacking,
// group_by and min_area_px, sent with every conversion and batch in both modes (the API
// validates them: a bad entry comes back as the server's 400 message), restored from a
// reopened record, and what they cost shown under the metrics.
import { formatBytes, formatSsim } from "./files.js";

const $ = (id) => document.getElementById(id);
const DEFAULTS = { max_colors: null, palette: [], shape_stacking: "stacked", group_by: "none", min_area_px: 0 };

const PRESETS = {
  full: {},
  flat4: { max_colors: 4 },
  two: { max_colors: 2 },
  vinyl: { shape_stacking: "cutouts", group_by: "color", min_area_px: 9 },
};

const HEX = /^#[0-9a-f]{6}$/i;

function paletteInputs() {
  return [...$("palette-list").querySelectorAll('input[type="text"]')];
}

function renumber() {
  paletteInputs().forEach((text, index) => {
    const item = text.closest("li");
    const n = index + 1;
    text.setAttribute("aria-label", `Palette colour ${n} (#rrggbb)`);
    item.querySelector('input[type="color"]').setAttribute("aria-label", `Pick palette colour ${n}`);
    item.querySelector("button").setAttribute("aria-label", `Remove palette colour ${n}`);
  });
}

function addSwatch(value, onChange) {
  const item = document.createElement("li");
  const picker = document.createElement("input");
  picker.type = "color";
  picker.value = HEX.test(value) ? value.toLowerCase() : "#000000";
  const text = document.createElement("input");
  text.type = "text";
  text.value = value;
  text.spellcheck = false;
  text.autocomplete = "off";
  text.maxLength = 16;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "icon-button";
  remove.textContent = "×";
  picker.addEventListener("input", () => {
    text.value = picker.value;
  });
  picker.addEventListener("change", () => onChange());
  text.addEventListener("input", () => {
    if (HEX.test(text.value.trim())) picker.value = text.value.trim().toLowerCase();
  });
  text.addEventListener("change", () => onChange());
  remove.addEventListener("click", () => {
    const next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    renumber();
    (next ? next.querySelector('input[type="text"]') : $("palette-add")).focus();
    onChange();
  });
  item.append(picker, text, remove);
  $("palette-list").append(item);
  renumber();
  return text;
}

/** Return the group's values that differ from the API's defaults, as the API takes them. */
export function designSettings() {
  const settings = {};
  const colours = $("max_colors").value.trim();
  if (colours) settings.max_colors = Number(colours);
  const palette = paletteInputs()
    .map((input) => input.value.trim())
    .filter(Boolean);
  if (palette.length) settings.palette = palette; // sent as typed: the server says what is wrong
  for (const name of ["shape_stacking", "group_by"]) {
    if ($(name).value !== DEFAULTS[name]) settings[name] = $(name).value;
  }
  const area = $("min_area_px").value.trim();
  if (area && Number(area) !== 0) settings.min_area_px = Number(area);
  return settings;
}

function setValues(values, onChange) {
  const all = { ...DEFAULTS, ...values };
  $("max_colors").value = all.max_colors == null ? "" : String(all.max_colors);
  $("min_area_px").value = String(all.min_area_px || 0);
  $("shape_stacking").value = all.shape_stacking;
  $("group_by").value = all.group_by;
  $("palette-list").replaceChildren();
  for (const colour of all.palette || []) addSwatch(colour, onChange);
}

function matchingPreset(values) {
  const shown = JSON.stringify({ ...DEFAULTS, ...values });
  const found = Object.entries(PRESETS).find(([, preset]) => JSON.stringify({ ...DEFAULTS, ...preset }) === shown);
  return found ? found[0] : "";
}

let changed = () => {};

/** Put a stored record's options into the group (a reopened conversion). */
export function restoreDesign(record) {
  const values = {};
  for (const name of Object.keys(DEFAULTS)) {
    if (record[name] !== undefined && record[name] !== null) values[name] = record[name];
  }
  if (values.min_area_px !== undefined) values.min_area_px = Number(values.min_area_px);
  setValues(values, changed);
  $("design-preset").value = matchingPreset(values);
}

/** Return one sentence of what the options cost (`design` of an answer or record); "" if none. */
export function designCost(design) {
  if (!design || design.colors_before === undefined) return "";
  const parts = [`Colours and shapes: ${design.colors_before} → ${design.colors_after} colours`];
  if (typeof design.ssim_before === "number") parts.push(`SSIM before them ${formatSsim(design.ssim_before)}`);
  if (typeof design.svg_bytes_before === "number") parts.push(`${formatBytes(design.svg_bytes_before)} before`);
  const problems = (design.problems || []).map((p) => String(p).replace(/\.?$/, "."));
  return `${parts.join(", ")}.${problems.length ? " " + problems.join(" ") : ""}`;
}

/** Wire the group; `onChange` runs after the user changes an option (to convert again). */
export function setupDesign(onChange) {
  const custom = () => {
    $("design-preset").value = matchingPreset(designSettings());
    onChange();
  };
  changed = custom;
  for (const id of ["max_colors", "min_area_px", "shape_stacking", "group_by"]) {
    $(id).addEventListener("change", custom);
  }
  $("palette-add").addEventListener("click", () => {
    // A palette fixes the count: it replaces Maximum colours (the API refuses both).
    $("max_colors").value = "";
    addSwatch("#000000", custom).focus();
  });
  $("design-preset").addEventListener("change", (event) => {
    const preset = PRESETS[event.target.value];
    if (!preset) return;
    setValues(preset, custom);
    onChange();
  });
  // A reload may bring back values the browser kept: the preset says what is really set.
  $("design-preset").value = matchingPreset(designSettings());
}
