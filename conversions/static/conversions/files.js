// Files in the browser: check a chosen image before uploading it, describe it, save results.
// A file the server would refuse (too big, not an image, too many pixels) is refused here first,
// so nobody waits for a 75 MB upload to learn it is too big.

export const ACCEPTED_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp"];
const ACCEPTED_EXTENSIONS = /\.(png|jpe?g|webp|gif|bmp)$/i;

/** Return "12.3 KB"-style text for a byte count. */
export function formatBytes(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes)) return "–";
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
  return (bytes / (1024 * 1024)).toFixed(1) + " MB";
}

/**
 * Return an SSIM with four decimals, rounded down: 0.9996 reads 0.9996, and only a perfect
 * match reads 1.0000 (rounding up would claim a match the measurement did not find).
 */
export function formatSsim(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "–";
  return (Math.floor(value * 10000) / 10000).toFixed(4);
}

/** Return the file name without its extension, safe for a download name. */
export function stem(name) {
  const base = (name || "logo").replace(/\.[^.]+$/, "");
  return base.replace(/[^\w.-]+/g, "_").slice(0, 80) || "logo";
}

/** Return a message saying why the server would refuse this file, or "" when it would not. */
export function checkFile(file, limits) {
  const typeOk = ACCEPTED_TYPES.includes(file.type) || (!file.type && ACCEPTED_EXTENSIONS.test(file.name));
  if (!typeOk) {
    const kind = file.type ? file.type : "a file of unknown type";
    return `${file.name} is ${kind}, not an image svgai reads: use PNG, JPEG, WebP, GIF or BMP.`;
  }
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > limits.max_upload_bytes) {
    return (
      `${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(limits.max_upload_bytes)}. ` +
      "Export a smaller image (a logo rarely needs more than 2000 px)."
    );
  }
  return "";
}

/**
 * Decode an image file in the browser: its size, whether it uses transparency, a preview URL.
 * Resolves to {url, width, height, hasAlpha}; rejects with a readable message.
 */
export function inspectImage(file) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file);
    const image = new Image();
    image.onload = () => {
      resolve({
        url,
        image,
        width: image.naturalWidth,
        height: image.naturalHeight,
        hasAlpha: usesTransparency(image),
      });
    };
    image.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error(`${file.name} could not be read as an image; is it damaged?`));
    };
    image.src = url;
  });
}

function usesTransparency(image) {
  // A sample at most 256 px on its long side: enough to see a transparent background.
  const scale = Math.min(1, 256 / Math.max(image.naturalWidth, image.naturalHeight));
  const width = Math.max(1, Math.round(image.naturalWidth * scale));
  const height = Math.max(1, Math.round(image.naturalHeight * scale));
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(image, 0, 0, width, height);
  const data = context.getImageData(0, 0, width, height).data;
  for (let i = 3; i < data.length; i += 4) {
    if (data[i] < 250) return true;
  }
  return false;
}

/** Offer a blob as a download under `name`. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Copy text to the clipboard; resolves to true when it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API refused (permissions, an http page): the old selection route still works.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

/** Load an image URL into an HTMLImageElement. */
export function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("The image could not be drawn."));
    image.src = url;
  });
}

// ZIP writing (stored, no compression: SVGs are small and a ZIP tool reads it everywhere).
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Return a ZIP blob of [{name, text}] entries; repeated names get " (2)" suffixes. */
export function makeZip(entries) {
  const encoder = new TextEncoder();
  const parts = [];
  const central = [];
  const seen = new Map();
  let offset = 0;
  for (const entry of entries) {
    let name = entry.name;
    const count = seen.get(name) || 0;
    seen.set(name, count + 1);
    if (count) name = name.replace(/(\.[^.]+)?$/, ` (${count + 1})$1`);
    const nameBytes = encoder.encode(name);
    const data = encoder.encode(entry.text);
    const crc = crc32(data);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(6, 0x0800, true); // UTF-8 names
    local.setUint32(14, crc, true);
    local.setUint32(18, data.length, true);
    local.setUint32(22, data.length, true);
    local.setUint16(26, nameBytes.length, true);
    parts.push(local, nameBytes, data);
    const record = new DataView(new ArrayBuffer(46));
    record.setUint32(0, 0x02014b50, true);
    record.setUint16(4, 20, true);
    record.setUint16(6, 20, true);
    record.setUint16(8, 0x0800, true);
    record.setUint32(16, crc, true);
    record.setUint32(20, data.length, true);
    record.setUint32(24, data.length, true);
    record.setUint16(28, nameBytes.length, true);
    record.setUint32(42, offset, true);
    central.push(record, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const centralSize = central.reduce((sum, part) => sum + part.byteLength, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, centralSize, true);
  end.setUint32(16, offset, true);
  return new Blob([...parts, ...central, end], { type: "application/zip" });
}
