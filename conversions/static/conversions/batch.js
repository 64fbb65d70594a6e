// Batches: several files dropped at once. The server's batch API (POST /api/batches) runs them
// when it answers; otherwise the page converts them one by one through the single-file API.
// Either way every file gets a progress bar, the batch an overall one, and the SVGs a ZIP.

import { checkFile, formatBytes, formatSsim, makeZip, stem } from "./files.js";

const ITEM_DONE = new Set(["done", "succeeded", "failed", "cancelled", "refused"]);

export class BatchView {
  /**
   * `api` offers: convertOne(file, signal, onStage) → {ok, body, error},
   * startServerBatch(files, signal) → {status, body} (status 404/405 when there is no batch API),
   * pollServerBatch(url, signal) → {ok, body}, cancelServerBatch(url); `onOpen(item)` shows a
   * finished item, `onFinished()` runs when a batch ends.
   */
  constructor(root, { api, limits, onOpen, onFinished }) {
    this.root = root;
    this.api = api;
    this.limits = limits;
    this.onOpen = onOpen;
    this.onFinished = onFinished || (() => {});
    this.cancelUrl = null;
    this.label = "";
    this.serverZip = null; // the server's ZIP of the items finished so far
    this.localZip = null; // the ZIP this page builds once it has converted every file
    this.list = root.querySelector("#batch-list");
    this.summary = root.querySelector("#batch-summary");
    this.bar = root.querySelector("#batch-bar");
    this.zip = root.querySelector("#batch-zip");
    this.cancelButton = root.querySelector("#batch-cancel");
    this.serverApi = null; // unknown until the first batch: true, or false after a 404
    this.controller = null;
    this.items = [];
    this.cancelButton.addEventListener("click", () => this.cancel());
    this.zip.addEventListener("click", (event) => {
      if (this.zip.getAttribute("aria-disabled") === "true") event.preventDefault();
    });
  }

  async run(files, label) {
    this.cancel();
    const controller = new AbortController();
    this.controller = controller;
    this.root.hidden = false;
    this.label = label;
    this.serverZip = null;
    if (this.localZip) URL.revokeObjectURL(this.localZip);
    this.localZip = null;
    this.items = [];
    this.items = files.map((file, index) => this.addItem(file, index));
    this.list.replaceChildren(...this.items.map((item) => item.row));
    for (const item of this.items) {
      const problem = checkFile(item.file, this.limits);
      if (problem) this.update(item, { status: "refused", error: problem });
    }
    this.cancelButton.hidden = false;
    this.summarise(label);
    this.root.scrollIntoView({ behavior: "smooth", block: "start" });
    const pending = this.items.filter((item) => item.status === "queued");
    let usedServer = false;
    if (pending.length && this.serverApi !== false) {
      usedServer = await this.runOnServer(pending, controller, label);
    }
    if (!usedServer) await this.runInPage(pending, controller, label);
    if (this.controller === controller) {
      this.cancelButton.hidden = true;
      this.controller = null;
    }
    this.summarise(label);
    this.onFinished();
  }

  async runOnServer(items, controller, label) {
    let answer;
    try {
      answer = await this.api.startServerBatch(
        items.map((item) => item.file),
        controller.signal
      );
    } catch {
      return false;
    }
    if ([404, 405, 501].includes(answer.status)) {
      this.serverApi = false; // no batch API on this server: convert in the page
      return false;
    }
    if (answer.status === 503 || answer.status === 429) return false; // busy or no AI: one by one
    if (!answer.ok) {
      for (const item of items) this.update(item, { status: "failed", error: answer.body.error });
      return true;
    }
    this.serverApi = true;
    const body = answer.body;
    for (const refusal of body.refused || []) {
      const item = items.find((candidate) => candidate.file.name === refusal.name && !candidate.matched);
      if (item) {
        item.matched = true;
        this.update(item, { status: "refused", error: refusal.reason });
      }
    }
    this.serverZip = body.download_url || `/api/batches/${encodeURIComponent(body.batch_id)}/download`;
    const statusUrl = body.status_url || `/api/batches/${encodeURIComponent(body.batch_id)}`;
    this.cancelUrl = statusUrl.replace(/\/?$/, "/cancel");
    const started = performance.now();
    while (!controller.signal.aborted) {
      const poll = await this.api.pollServerBatch(statusUrl, controller.signal).catch(() => null);
      if (poll && poll.ok) {
        this.applyServerItems(items, poll.body.items || []);
        this.summarise(label);
        if (["done", "failed", "cancelled"].includes(poll.body.status)) return true;
      }
      const waited = performance.now() - started;
      await sleep(waited < 5000 ? 400 : 1000, controller.signal);
    }
    return true;
  }

  applyServerItems(items, serverItems) {
    const open = items.filter((item) => item.status !== "refused");
    serverItems.forEach((remote, index) => {
      const name = remote.name || remote.filename || remote.original_name;
      const key = remote.item_id || name + "#" + index;
      const item =
        open.find((candidate) => candidate.remoteKey === key) ||
        open.find((candidate) => !candidate.remoteKey && candidate.file.name === name) ||
        open.find((candidate) => !candidate.remoteKey);
      if (!item) return;
      item.remoteKey = key;
      const status = normaliseStatus(remote.status);
      this.update(item, {
        status,
        error: remote.error || "",
        conversionId: remote.conversion_id || remote.conversion || null,
        ssim: remote.ssim,
        bytes: remote.bytes ?? remote.svg_bytes ?? remote.file_size,
        seconds: remote.time ?? remote.processing_time ?? null,
        tier: remote.tier ?? null,
        thumbnail: remote.svg_url || null,
      });
    });
  }

  async runInPage(items, controller, label) {
    for (const item of items) {
      if (controller.signal.aborted) break;
      this.update(item, { status: "uploading" });
      let result;
      for (let attempt = 0; attempt < 5; attempt++) {
        result = await this.api.convertOne(item.file, controller.signal, (stage) => {
          this.update(item, { status: stage });
        });
        if (!result.retryAfter || controller.signal.aborted) break;
        // The server's rate limit: wait as long as it asks, then try the same file again.
        this.update(item, { status: "waiting", error: `rate limit, retrying in ${result.retryAfter} s` });
        await sleep(result.retryAfter * 1000, controller.signal);
      }
      if (controller.signal.aborted) break;
      if (result.ok) {
        const body = result.body;
        this.update(item, {
          status: "done",
          error: "",
          conversionId: body.conversion_id,
          svg: body.svg,
          ssim: typeof body.ssim === "number" ? body.ssim : body.ai_metadata && body.ai_metadata.actual_ssim,
          bytes: body.file_size,
          seconds: body.processing_time,
          tier: body.ai_metadata ? body.ai_metadata.tier_used : null,
          thumbnail: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(body.svg),
          result: body,
        });
      } else {
        this.update(item, { status: "failed", error: result.error });
      }
      this.summarise(label);
    }
    for (const item of items) {
      if (!ITEM_DONE.has(item.status)) this.update(item, { status: "cancelled" });
    }
    const done = this.items.filter((item) => item.status === "done" && item.svg);
    if (done.length) {
      const report = ["name,status,tier,ssim,bytes,seconds,error"];
      for (const item of this.items) {
        report.push(
          [item.file.name, item.status, item.tier ?? "", item.ssim ?? "", item.bytes ?? "", item.seconds ?? "", item.error || ""]
            .map(csvCell)
            .join(",")
        );
      }
      const blob = makeZip([
        ...done.map((item) => ({ name: stem(item.file.name) + ".svg", text: item.svg })),
        { name: "report.csv", text: report.join("\n") + "\n" },
      ]);
      this.localZip = URL.createObjectURL(blob);
      this.summarise(label);
    }
  }

  cancel() {
    if (!this.controller) return;
    this.controller.abort();
    this.controller = null;
    if (this.cancelUrl) this.api.cancelServerBatch(this.cancelUrl);
    this.cancelUrl = null;
    for (const item of this.items) {
      if (!ITEM_DONE.has(item.status)) this.update(item, { status: "cancelled" });
    }
    this.cancelButton.hidden = true;
    this.summarise();
  }

  /**
   * The ZIP link says what it gives: the server's ZIP holds the items finished so far, so while
   * a server batch runs it offers "Download finished (N of M)"; the page's own ZIP exists only
   * once every file is converted. With nothing to download the link has no href at all (truly
   * disabled, not a link that looks disabled and still downloads).
   */
  renderZip(done, total, running) {
    const href = running ? this.serverZip : this.localZip || this.serverZip;
    if (!href || !done) {
      this.zip.setAttribute("aria-disabled", "true");
      this.zip.removeAttribute("href");
      this.zip.removeAttribute("download");
      this.zip.textContent = "Download ZIP";
      return;
    }
    this.zip.href = href;
    this.zip.setAttribute("aria-disabled", "false");
    if (href === this.localZip) this.zip.download = "svgai-batch.zip";
    else this.zip.removeAttribute("download"); // the server names its attachment
    this.zip.textContent = running ? `Download finished (${done} of ${total})` : "Download ZIP";
  }

  addItem(file, index) {
    const row = document.createElement("li");
    row.className = "batch-item";
    const thumb = document.createElement("img");
    thumb.className = "thumb";
    thumb.alt = "";
    thumb.width = 32;
    thumb.height = 32;
    thumb.hidden = true;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name;
    const bar = document.createElement("div");
    bar.className = "bar small";
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-label", `Progress of ${file.name}`);
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.append(document.createElement("span"));
    const status = document.createElement("span");
    status.className = "status";
    const open = document.createElement("button");
    open.type = "button";
    open.className = "button small";
    open.textContent = "Open";
    open.hidden = true;
    open.setAttribute("aria-label", `Open ${file.name} in the compare view`);
    row.append(thumb, name, bar, status, open);
    const item = { file, index, row, thumb, bar, statusText: status, open, status: "queued" };
    open.addEventListener("click", () => this.onOpen(item));
    this.update(item, { status: "queued" });
    return item;
  }

  update(item, changes) {
    Object.assign(item, changes);
    const percent = { queued: 0, uploading: 15, converting: 55, running: 55, done: 100, failed: 100, refused: 100, cancelled: 100 }[
      item.status
    ];
    item.bar.firstChild.style.width = (percent ?? 0) + "%";
    item.bar.setAttribute("aria-valuenow", String(percent ?? 0));
    item.row.dataset.status = item.status;
    let text = {
      queued: "Waiting",
      waiting: `Waiting: ${item.error}`,
      uploading: "Uploading…",
      converting: "Converting…",
      running: "Converting…",
      cancelled: "Cancelled",
    }[item.status];
    if (item.status === "done") {
      const parts = [];
      if (typeof item.ssim === "number") parts.push(`SSIM ${formatSsim(item.ssim)}`);
      if (typeof item.bytes === "number") parts.push(formatBytes(item.bytes));
      if (typeof item.seconds === "number") parts.push(`${item.seconds.toFixed(1)} s`);
      text = "Done · " + parts.join(" · ");
    } else if (item.status === "failed" || item.status === "refused") {
      text = (item.status === "refused" ? "Not sent: " : "Failed: ") + (item.error || "unknown error");
    }
    item.statusText.textContent = text || item.status;
    item.open.hidden = item.status !== "done" || !item.conversionId;
    if (item.thumbnail && item.thumb.getAttribute("src") !== item.thumbnail) {
      item.thumb.src = item.thumbnail;
      item.thumb.hidden = false;
    }
    // The summary counts the rows: redrawn with every row, the two never disagree.
    if (this.items.includes(item)) this.summarise();
  }

  summarise(label = this.label) {
    const total = this.items.length;
    const finished = this.items.filter((item) => ITEM_DONE.has(item.status)).length;
    const done = this.items.filter((item) => item.status === "done").length;
    const failed = this.items.filter((item) => ["failed", "refused"].includes(item.status)).length;
    const percent = total ? Math.round((100 * finished) / total) : 0;
    this.bar.firstChild.style.width = percent + "%";
    this.bar.setAttribute("aria-valuenow", String(percent));
    const running = finished < total && this.controller;
    let text = `${done} of ${total} converted`;
    if (failed) text += `, ${failed} failed`;
    if (running) text += label ? ` · ${label}` : "";
    else if (finished === total && total) text += " · finished";
    this.summary.textContent = text;
    this.renderZip(done, total, Boolean(running));
  }
}

function normaliseStatus(status) {
  if (status === "succeeded" || status === "done") return "done";
  if (status === "running" || status === "converting") return "converting";
  if (status === "failed" || status === "cancelled" || status === "queued") return status;
  return status || "queued";
}

function csvCell(value) {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
