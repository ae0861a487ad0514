/**
 * A tiny PNG encoder and a cat-face painter, so the demo has real pictures without the network.
 */
import { crc32, deflateSync } from 'node:zlib'

type RGB = readonly [number, number, number]

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0)
  return Buffer.concat([head, data, crc])
}

/** Encode 8-bit RGB pixels (row-major, width x height x 3) as a PNG file. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0 // filter: none
    Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1)
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // colour type: RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

/** The five kinds of cat the notebook fetched. */
export const CAT_TAGS = ['cute', 'angry', 'white', 'black', 'tabby'] as const
export type CatTag = (typeof CAT_TAGS)[number]

const FUR: Record<CatTag, RGB> = { cute: [250, 190, 210], angry: [200, 70, 50], white: [245, 245, 240], black: [35, 35, 40], tabby: [220, 140, 60] }
const EYES: Record<CatTag, RGB> = { cute: [40, 120, 200], angry: [250, 220, 0], white: [80, 170, 90], black: [240, 200, 40], tabby: [90, 160, 60] }

/** Paint a cat face of the given kind (variant changes size and pose), as a PNG. */
export function drawCat(tag: CatTag, variant: number, size = 96 + variant * 32): Buffer {
  const px = new Uint8Array(size * size * 3)
  const fur = FUR[tag]
  const eye = EYES[tag]
  const bg: RGB = [
    [200, 230, 255],
    [255, 240, 200],
    [220, 255, 220],
  ][variant % 3] as unknown as RGB
  const c = size / 2
  const r = size * 0.34
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x - c
      const dy = y - c - size * 0.05
      let col: RGB = bg
      const inHead = dx * dx + dy * dy < r * r
      // Ears: two triangles above the head.
      const inEar =
        y < c - r * 0.3 && y > c - r * 1.35 && (Math.abs(dx - r * 0.6) < (y - (c - r * 1.35)) * 0.55 || Math.abs(dx + r * 0.6) < (y - (c - r * 1.35)) * 0.55)
      if (inHead || inEar) col = fur
      if (tag === 'tabby' && inHead && Math.floor((y + variant * 3) / (size / 12)) % 2 === 0 && Math.abs(dx) < r * 0.8) col = [170, 95, 35]
      // Eyes.
      for (const side of [-1, 1]) {
        const ex = dx - side * r * 0.4
        const ey = dy + r * 0.15
        if (ex * ex + ey * ey < (r * 0.16) ** 2) col = eye
        if (ex * ex * 4 + ey * ey < (r * 0.09) ** 2 * (tag === 'angry' ? 0.5 : 1)) col = [10, 10, 10]
        // Angry brows.
        if (tag === 'angry' && Math.abs(ey + r * 0.28 - side * ex * 0.4) < size * 0.015 && Math.abs(ex) < r * 0.22) col = [60, 20, 10]
      }
      // Nose and whiskers.
      if (Math.abs(dx) < r * 0.08 && Math.abs(dy - r * 0.12) < r * 0.06) col = [230, 110, 130]
      if (Math.abs(dx) > r * 0.45 && Math.abs(dx) < r * 1.1 && Math.abs(dy - r * 0.25) < size * 0.006) col = tag === 'black' ? [200, 200, 200] : [60, 60, 60]
      const i = (y * size + x) * 3
      px[i] = col[0]
      px[i + 1] = col[1]
      px[i + 2] = col[2]
    }
  }
  return encodePng(size, size, px)
}
