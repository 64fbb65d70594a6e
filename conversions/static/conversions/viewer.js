// The compare view: input and SVG side by side or overlaid with a split, zoomed and panned
// together (wheel, drag, pinch, buttons, keys), over a chosen background, with an optional
// heat map of where the SVG differs from the input.
//
// Zoom changes the images' layout size instead of scaling them with a transform, so the SVG is
// re-rendered crisp at 800 % and the input shows its real pixels.

import { loadImage } from "./files.js";

const MIN_SCALE = 0.05;
const MAX_SCALE = 16;
const STEP = 1.5;

export class CompareViewer {
  constructor(root, { zoomLabel, split, diffLegend, diffSummary }) {
    this.root = root;
    this.panes = [...root.querySelectorAll(".pane")];
    this.stages = [...root.querySelectorAll(".stage")];
    this.inputImage = root.querySelector("#input-preview");
    this.svgImage = root.querySelector("#svg-preview");
    this.diffCanvas = root.querySelector("#diff-layer");
    this.zoomLabel = zoomLabel;
    this.split = split;
    this.diffLegend = diffLegend;
    this.diffSummary = diffSummary;
    this.width = 0;
    this.height = 0;
    this.scale = 1;
    this.x = 0;
    this.y = 0;
    this.fitted = true;
    this.showDiff = false;
    this.diffKey = "";
    this.pointers = new Map();
    this.bindEvents();
  }

  /** Show a new input (and optionally its SVG); the view fits unless it was zoomed already. */
  setImages({ inputUrl, svgUrl, width, height, keepView = false }) {
    const sizeChanged = width !== this.width || height !== this.height;
    this.width = width;
    this.height = height;
    if (inputUrl !== undefined) {
      if (inputUrl) this.inputImage.src = inputUrl;
      else this.inputImage.removeAttribute("src");
    }
    if (svgUrl !== undefined) {
      if (svgUrl) this.svgImage.src = svgUrl;
      else this.svgImage.removeAttribute("src");
    }
    this.inputImage.hidden = !this.inputImage.getAttribute("src");
    this.svgImage.hidden = !this.svgImage.getAttribute("src");
    this.root.dataset.empty = this.inputImage.hidden && this.svgImage.hidden ? "true" : "false";
    this.diffKey = "";
    if (sizeChanged || !keepView || this.fitted) this.fit();
    else this.apply();
    if (this.showDiff) this.renderDiff();
  }

  clearSvg() {
    this.svgImage.removeAttribute("src");
    this.svgImage.hidden = true;
    this.diffKey = "";
    this.diffCanvas.hidden = true;
  }

  setView(view) {
    this.root.dataset.view = view;
    this.refitOrApply();
  }

  setBackground(kind, color) {
    this.root.dataset.bg = kind;
    if (color) this.root.style.setProperty("--custom-bg", color);
  }

  setSplit(percent) {
    this.root.style.setProperty("--split", percent + "%");
  }

  paneSize() {
    const rect = this.panes[1].getBoundingClientRect();
    return { w: rect.width, h: rect.height };
  }

  fit() {
    if (!this.width || !this.height) return;
    const { w, h } = this.paneSize();
    if (!w || !h) return;
    this.scale = Math.min((w * 0.92) / this.width, (h * 0.92) / this.height, MAX_SCALE);
    this.x = (w - this.width * this.scale) / 2;
    this.y = (h - this.height * this.scale) / 2;
    this.fitted = true;
    this.apply();
  }

  actualSize() {
    this.zoomTo(1);
  }

  refitOrApply() {
    if (this.fitted) this.fit();
    else this.apply();
  }

  /** Zoom to `scale` keeping the point (cx, cy) of the pane where it is (default: the centre). */
  zoomTo(scale, cx, cy) {
    if (!this.width) return;
    const { w, h } = this.paneSize();
    const px = cx ?? w / 2;
    const py = cy ?? h / 2;
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
    this.x = px - ((px - this.x) * next) / this.scale;
    this.y = py - ((py - this.y) * next) / this.scale;
    this.scale = next;
    this.fitted = false;
    this.apply();
  }

  zoomBy(factor, cx, cy) {
    this.zoomTo(this.scale * factor, cx, cy);
  }

  panBy(dx, dy) {
    this.x += dx;
    this.y += dy;
    this.fitted = false;
    this.apply();
  }

  apply() {
    const w = this.width * this.scale;
    const h = this.height * this.scale;
    for (const stage of this.stages) {
      stage.style.width = w + "px";
      stage.style.height = h + "px";
      stage.style.transform = `translate(${this.x}px, ${this.y}px)`;
    }
    this.root.classList.toggle("pixelated", this.scale >= 2);
    if (this.zoomLabel) this.zoomLabel.textContent = Math.round(this.scale * 100) + " %";
  }

  async setDiff(on) {
    this.showDiff = on;
    this.diffLegend.hidden = !on;
    if (on) await this.renderDiff();
    else this.diffCanvas.hidden = true;
  }

  /** Draw the heat map: per pixel, how far the SVG's colour is from the input's, both on white. */
  async renderDiff() {
    const inputUrl = this.inputImage.getAttribute("src");
    const svgUrl = this.svgImage.getAttribute("src");
    if (!inputUrl || !svgUrl || !this.width) {
      this.diffCanvas.hidden = true;
      this.diffSummary.textContent = "Convert an image to see where the SVG differs from it.";
      return;
    }
    const key = inputUrl + "|" + svgUrl.length + "|" + svgUrl.slice(-64);
    if (key === this.diffKey) {
      this.diffCanvas.hidden = false;
      return;
    }
    const [input, svg] = await Promise.all([loadImage(inputUrl), loadImage(svgUrl)]);
    const { width, height } = this;
    const a = pixelsOnWhite(input, width, height);
    const b = pixelsOnWhite(svg, width, height);
    const canvas = this.diffCanvas;
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    const heat = context.createImageData(width, height);
    let differing = 0;
    for (let i = 0; i < a.length; i += 4) {
      const d = (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2])) / 3;
      if (d < 8) continue; // invisible differences stay clear
      differing++;
      const t = Math.min(1, d / 96);
      heat.data[i] = 255;
      heat.data[i + 1] = Math.round(210 * (1 - t));
      heat.data[i + 2] = 0;
      heat.data[i + 3] = Math.round(110 + 145 * t);
    }
    context.putImageData(heat, 0, 0);
    this.diffKey = key;
    canvas.hidden = !this.showDiff;
    const share = (100 * differing) / (width * height);
    this.diffSummary.textContent =
      `Red marks where the SVG differs from the input: ${share.toFixed(1)} % of pixels ` +
      "(brighter is further off).";
  }

  paneOffset(event) {
    const pane = event.target.closest?.(".pane") || this.panes[1];
    const rect = pane.getBoundingClientRect();
    return { cx: event.clientX - rect.left, cy: event.clientY - rect.top };
  }

  bindEvents() {
    const root = this.root;
    root.addEventListener(
      "wheel",
      (event) => {
        if (!this.width) return;
        event.preventDefault();
        const { cx, cy } = this.paneOffset(event);
        this.zoomBy(Math.exp(-event.deltaY * 0.0015), cx, cy);
      },
      { passive: false }
    );
    root.addEventListener("pointerdown", (event) => {
      if (!this.width || event.button > 0 || !event.target.closest(".pane")) return;
      root.setPointerCapture(event.pointerId);
      this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      root.classList.add("panning");
    });
    root.addEventListener("pointermove", (event) => {
      const last = this.pointers.get(event.pointerId);
      if (!last) return;
      if (this.pointers.size === 1) {
        this.panBy(event.clientX - last.x, event.clientY - last.y);
      } else if (this.pointers.size === 2) {
        const [p, q] = [...this.pointers.values()];
        const before = Math.hypot(p.x - q.x, p.y - q.y);
        this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
        const [p2, q2] = [...this.pointers.values()];
        const after = Math.hypot(p2.x - q2.x, p2.y - q2.y);
        const rect = this.panes[1].getBoundingClientRect();
        const cx = (p2.x + q2.x) / 2 - rect.left;
        const cy = (p2.y + q2.y) / 2 - rect.top;
        if (before > 0) this.zoomBy(after / before, cx, cy);
        return;
      }
      this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    });
    const release = (event) => {
      this.pointers.delete(event.pointerId);
      if (!this.pointers.size) root.classList.remove("panning");
    };
    root.addEventListener("pointerup", release);
    root.addEventListener("pointercancel", release);
    root.addEventListener("dblclick", (event) => {
      const { cx, cy } = this.paneOffset(event);
      if (this.scale < 2) this.zoomTo(4, cx, cy);
      else this.fit();
    });
    root.addEventListener("keydown", (event) => {
      const keys = {
        "+": () => this.zoomBy(STEP),
        "=": () => this.zoomBy(STEP),
        "-": () => this.zoomBy(1 / STEP),
        0: () => this.fit(),
        1: () => this.actualSize(),
        ArrowLeft: () => this.panBy(40, 0),
        ArrowRight: () => this.panBy(-40, 0),
        ArrowUp: () => this.panBy(0, 40),
        ArrowDown: () => this.panBy(0, -40),
      };
      const action = keys[event.key];
      if (action && this.width) {
        event.preventDefault();
        action();
      }
    });
    new ResizeObserver(() => this.refitOrApply()).observe(root);
  }

  zoomIn() {
    this.zoomBy(STEP);
  }

  zoomOut() {
    this.zoomBy(1 / STEP);
  }
}

function pixelsOnWhite(image, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  context.drawImage(image, 0, 0, width, height);
  return context.getImageData(0, 0, width, height).data;
}
