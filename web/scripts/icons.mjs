// Parley's app icon, drawn from a few shapes: a rounded square in the accent colour with a
// white waveform of five bars. The same shapes give the SVG (favicon) and the PNGs the manifest
// and iOS need, rendered here with no image library (anti-aliased by signed distance, encoded
// with node's zlib), so the build needs nothing beyond node.
import { deflateSync } from 'node:zlib';

/** Bar heights, as a share of the glyph's height, left to right. */
const BARS = [0.36, 0.64, 1, 0.64, 0.36];

/**
 * The icon's shapes on a square of side `size`. `maskable`: the background fills the square
 * (the platform cuts its own shape) and the glyph stays inside the safe zone, the central
 * circle of 40% radius (https://www.w3.org/TR/appmanifest/#icon-masks).
 */
export function iconShapes(size, { maskable = false } = {}) {
  const scale = maskable ? 0.88 : 1.05;
  const glyphHeight = size * 0.5 * scale;
  const barWidth = size * 0.086 * scale;
  const gap = size * 0.055 * scale;
  const total = BARS.length * barWidth + (BARS.length - 1) * gap;
  const left = (size - total) / 2;
  const bars = BARS.map((share, i) => {
    const height = glyphHeight * share;
    return { x: left + i * (barWidth + gap), y: (size - height) / 2, width: barWidth, height, radius: barWidth / 2 };
  });
  const background = { x: 0, y: 0, width: size, height: size, radius: maskable ? 0 : size * 0.22 };
  return { background, bars };
}

function rect(shape) {
  const { x, y, width, height, radius } = shape;
  return `<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="${radius}"/>`;
}

/** The icon as SVG text (the favicon). */
export function iconSvg(colors, size = 512) {
  const { background, bars } = iconShapes(size);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}">`
    + `<g fill="${colors.background}">${rect(background)}</g>`
    + `<g fill="${colors.glyph}">${bars.map(rect).join('')}</g></svg>\n`;
}

/** Signed distance from (px, py) to a rounded rectangle: negative inside. */
function roundedRectDistance(px, py, { x, y, width, height, radius }) {
  const hw = width / 2;
  const hh = height / 2;
  const dx = Math.abs(px - (x + hw)) - (hw - radius);
  const dy = Math.abs(py - (y + hh)) - (hh - radius);
  const outside = Math.hypot(Math.max(dx, 0), Math.max(dy, 0));
  return outside + Math.min(Math.max(dx, dy), 0) - radius;
}

/** Coverage of the pixel whose centre is (px, py): 1 inside, 0 outside, a ramp on the edge. */
function coverage(distance) {
  return Math.min(1, Math.max(0, 0.5 - distance));
}

function parseHex(color) {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) throw new Error(`icons: expected a #rrggbb colour, got ${color}`);
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** RGBA pixels of the icon, row by row. `opaque`: no transparent corners (iOS). */
export function iconPixels(size, colors, { maskable = false, opaque = false } = {}) {
  const { background, bars } = iconShapes(size, { maskable: maskable || opaque });
  const bg = parseHex(colors.background);
  const fg = parseHex(colors.glyph);
  const pixels = new Uint8Array(size * size * 4);
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const px = col + 0.5;
      const py = row + 0.5;
      const base = coverage(roundedRectDistance(px, py, background));
      let glyph = 0;
      for (const bar of bars) glyph = Math.max(glyph, coverage(roundedRectDistance(px, py, bar)));
      const i = (row * size + col) * 4;
      for (let c = 0; c < 3; c++) pixels[i + c] = Math.round(bg[c] + (fg[c] - bg[c]) * glyph);
      pixels[i + 3] = Math.round(255 * Math.max(base, glyph));
    }
  }
  return pixels;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG (8-bit RGBA, no filtering) of `pixels` (size x size). */
export function encodePng(size, pixels) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let row = 0; row < size; row++) {
    rows[row * (size * 4 + 1)] = 0; // filter: none
    Buffer.from(pixels.buffer, row * size * 4, size * 4).copy(rows, row * (size * 4 + 1) + 1);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Every icon file of the app: path under the site root -> contents. */
export function iconFiles(colors) {
  const png = (size, options) => encodePng(size, iconPixels(size, colors, options));
  return {
    'icons/icon.svg': iconSvg(colors),
    'icons/icon-192.png': png(192),
    'icons/icon-512.png': png(512),
    'icons/maskable-192.png': png(192, { maskable: true }),
    'icons/maskable-512.png': png(512, { maskable: true }),
    'icons/apple-touch-icon.png': png(180, { opaque: true }),
  };
}
