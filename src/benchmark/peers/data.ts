/**
 * Deterministic benchmark payloads: every object and the W3 stream are made from one fixed
 * pseudo-random block, with each 4 KiB page stamped with (object, chunk, page) so no two pages
 * of a run are alike. Cheap to generate, not compressible, reproducible from nothing.
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import { MiB } from './workloads.js'

const PAGE = 4096
const CHUNK = MiB

let base: Buffer | undefined

/** 1 MiB of xorshift32 output from a fixed seed. */
function baseBlock(): Buffer {
  if (base) return base
  const b = Buffer.allocUnsafe(CHUNK)
  let x = 0x9e3779b9
  for (let i = 0; i < CHUNK; i += 4) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    b.writeUInt32LE(x, i)
  }
  base = b
  return b
}

function fill(target: Buffer, object: number, chunk: number): Buffer {
  baseBlock().copy(target, 0, 0, target.length)
  for (let p = 0; p * PAGE + 12 <= target.length; p++) {
    target.writeUInt32LE(object >>> 0, p * PAGE)
    target.writeUInt32LE(chunk >>> 0, p * PAGE + 4)
    target.writeUInt32LE(p, p * PAGE + 8)
  }
  return target
}

/** The bytes of object `index` (of `size` bytes). */
export function objectBytes(index: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size)
  for (let off = 0, chunk = 0; off < size; off += CHUNK, chunk++) {
    fill(out.subarray(off, Math.min(size, off + CHUNK)), index, chunk)
  }
  return out
}

/** The W3 stream: `total` bytes in fresh 1 MiB chunks (a source of unknown length to its reader). */
export function* streamChunks(total: number, id = 0xffff_ffff): Generator<Buffer> {
  for (let off = 0, chunk = 0; off < total; off += CHUNK, chunk++) {
    yield fill(Buffer.allocUnsafe(Math.min(CHUNK, total - off)), id, chunk)
  }
}

/** Digests of a payload: what verification compares against. */
export interface Digest {
  size: number
  sha256: string
  md5: string
}

export function digest(bytes: Uint8Array): Digest {
  return {
    size: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    md5: createHash('md5').update(bytes).digest('hex'),
  }
}

/** sha256 and length of the W3 stream. */
export function streamDigest(total: number): { size: number; sha256: string } {
  const h = createHash('sha256')
  for (const c of streamChunks(total)) h.update(c)
  return { size: total, sha256: h.digest('hex') }
}
