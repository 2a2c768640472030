/**
 * A minimal PNG reader for tests: the IHDR fields and the pixels of an 8-bit, non-interlaced
 * greyscale / RGB / RGBA image (what browsers write for screenshots), enough to tell a real
 * rendering from a blank one. Follows the PNG spec (RFC 2083): chunks, zlib-compressed IDAT
 * data, per-scanline filters None/Sub/Up/Average/Paeth.
 */
import * as zlib from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly interlace: number;
}

export interface PngImage extends PngHeader {
  /** Bytes per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA). */
  readonly channels: number;
  /** Unfiltered pixel rows, `width * channels` bytes each, concatenated. */
  readonly pixels: Buffer;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** Reads the header; throws on anything that is not a PNG. */
export function readPngHeader(png: Buffer): PngHeader {
  if (png.length < 33 || !png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG (bad signature)');
  if (png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG (first chunk is not IHDR)');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), bitDepth: png[24]!, colorType: png[25]!, interlace: png[28]! };
}

/** Decodes the pixels (8-bit, non-interlaced, colour types 0/2/4/6 only). */
export function decodePng(png: Buffer): PngImage {
  const h = readPngHeader(png);
  const channels = CHANNELS[h.colorType];
  if (h.bitDepth !== 8 || channels === undefined || h.interlace !== 0) {
    throw new Error(`unsupported PNG: bit depth ${h.bitDepth}, colour type ${h.colorType}, interlace ${h.interlace}`);
  }
  const idat: Buffer[] = [];
  for (let off = 8; off + 8 <= png.length;) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    if (type === 'IDAT') idat.push(png.subarray(off + 8, off + 8 + len));
    if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = h.width * channels;
  if (raw.length < (stride + 1) * h.height) throw new Error(`PNG data too short: ${raw.length} bytes for ${h.width}x${h.height}`);
  const out = Buffer.alloc(stride * h.height);
  for (let y = 0; y < h.height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[row + x - channels]! : 0;
      const b = y > 0 ? out[prev + x]! : 0;
      const c = x >= channels && y > 0 ? out[prev + x - channels]! : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`bad PNG filter type ${filter} on row ${y}`);
      out[row + x] = (raw[src + x]! + pred) & 0xff;
    }
  }
  return { ...h, channels, pixels: out };
}

/** How many pixels there are of each colour (packed as a number), capped at `limit` colours. */
export function colourHistogram(img: PngImage, limit = 4096): Map<number, number> {
  const counts = new Map<number, number>();
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    let key = 0;
    for (let c = 0; c < img.channels; c++) key = key * 256 + img.pixels[i * img.channels + c]!;
    const v = counts.get(key);
    if (v !== undefined) counts.set(key, v + 1);
    else if (counts.size < limit) counts.set(key, 1);
  }
  return counts;
}
