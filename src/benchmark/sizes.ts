/**
 * Object sizes for the load generator: a fixed size, a list (each operation picks one at
 * random), or a random size between bounds (log-uniform: every power of two between the bounds
 * is equally likely, so `1KiB-10MiB` gives as many objects under 100 KiB as above), all drawn
 * from one seeded generator so that a run can be repeated.
 *
 * @example
 * ```ts
 * import { parseSizes } from 'bucketflow/bench'
 * parseSizes('4KiB,1MiB') // [4096, 1048576]
 * parseSizes('1KiB-10MiB') // { min: 1024, max: 10485760 }
 * ```
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../index.js'

/** A fixed size, a list of sizes, or a random size between `min` and `max` (bytes, inclusive). */
export type SizeSpec = number | readonly number[] | { readonly min: number; readonly max: number }

const UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
}

/**
 * Parse one size: bytes, or a number with a unit (`KiB`, `MiB`, `GiB` are powers of 1024; `KB`,
 * `MB`, `GB` powers of 1000; `K`, `M`, `G` mean KiB, MiB, GiB). Throws InvalidArgumentError.
 *
 * @example
 * ```ts
 * parseSize('1.5MiB') // 1572864
 * parseSize('10MB') // 10000000
 * ```
 */
export function parseSize(text: string, argument = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = UNITS[(m?.[2] || 'b').toLowerCase()]
  if (!m || unit === undefined) {
    throw new InvalidArgumentError(`Expected ${argument} to be a size such as 4096, 4KiB, 1.5MiB or 10MB, got ${JSON.stringify(text)}`, { argument })
  }
  const n = Math.round(Number(m[1]) * unit)
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`Expected ${argument} to be a size below 8 PiB, got ${JSON.stringify(text)}`, { argument })
  return n
}

/**
 * Parse a size specification: `4KiB` (fixed), `4KiB,1MiB` (a list), `1KiB-10MiB` (random
 * between bounds). Throws InvalidArgumentError.
 *
 * @example
 * ```ts
 * const sizes = parseSizes('64KiB-8MiB')
 * ```
 */
export function parseSizes(text: string, argument = 'size'): SizeSpec {
  if (text.includes(',')) return text.split(',').map((part) => parseSize(part, argument))
  const range = /^([^-]+)-([^-]+)$/.exec(text)
  if (range) {
    const spec = { min: parseSize(range[1]!, argument), max: parseSize(range[2]!, argument) }
    validateSizes(spec, argument)
    return spec
  }
  return parseSize(text, argument)
}

function bad(argument: string, why: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`Expected ${argument} to be ${why}, got ${JSON.stringify(value)}`, { argument })
}

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

/** Throws InvalidArgumentError unless `spec` is a valid {@link SizeSpec}. */
export function validateSizes(spec: unknown, argument = 'sizes'): asserts spec is SizeSpec {
  if (isSize(spec)) return
  if (Array.isArray(spec)) {
    if (spec.length === 0 || !spec.every(isSize)) throw bad(argument, 'a non-empty list of sizes in bytes (integers >= 0)', spec)
    return
  }
  if (spec !== null && typeof spec === 'object' && 'min' in spec && 'max' in spec) {
    const { min, max } = spec as { min: unknown; max: unknown }
    if (!isSize(min) || !isSize(max) || min < 1 || max < min) throw bad(argument, '{ min, max } with 1 <= min <= max (bytes)', spec)
    return
  }
  throw bad(argument, 'a size in bytes, a list of sizes, or { min, max }', spec)
}

/** The largest size a spec can produce. */
export function maxSize(spec: SizeSpec): number {
  if (typeof spec === 'number') return spec
  if (Array.isArray(spec)) return Math.max(...(spec as readonly number[]))
  return (spec as { max: number }).max
}

/** The mean size a spec produces (for estimates). */
export function meanSize(spec: SizeSpec): number {
  if (typeof spec === 'number') return spec
  if (Array.isArray(spec)) return (spec as readonly number[]).reduce((a, b) => a + b, 0) / (spec as readonly number[]).length
  const { min, max } = spec as { min: number; max: number }
  // Log-uniform: E[X] = (max - min) / ln(max / min).
  return min === max ? min : (max - min) / Math.log(max / min)
}

/** "4 KiB", "1.5 MiB", or "1 KiB-10 MiB", "4 KiB,1 MiB". */
export function describeSizes(spec: SizeSpec): string {
  if (typeof spec === 'number') return formatSize(spec)
  if (Array.isArray(spec)) return (spec as readonly number[]).map(formatSize).join(',')
  const { min, max } = spec as { min: number; max: number }
  return `${formatSize(min)}-${formatSize(max)} (log-uniform)`
}

/** 1536 -> "1.5 KiB". */
export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${Number.isInteger(n) ? n : n.toFixed(n >= 100 ? 0 : 1)} ${units[i]}`
}

/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence
 * of sizes, objects picked and operations chosen.
 */
export class Random {
  #state: number
  constructor(seed: number) {
    this.#state = seed >>> 0
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n)
  }
  /** A size from `spec`. */
  size(spec: SizeSpec): number {
    if (typeof spec === 'number') return spec
    if (Array.isArray(spec)) return (spec as readonly number[])[this.below((spec as readonly number[]).length)]!
    const { min, max } = spec as { min: number; max: number }
    if (min === max) return min
    return Math.min(max, Math.max(min, Math.round(Math.exp(Math.log(min) + this.next() * (Math.log(max) - Math.log(min))))))
  }
  /** Fill `bytes` with pseudo-random bytes (payload that no server can compress or deduplicate). */
  fill<T extends Uint8Array>(bytes: T): T {
    if (bytes.byteOffset % 4 !== 0) {
      for (let i = 0; i < bytes.byteLength; i++) bytes[i] = this.below(256)
      return bytes
    }
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 4))
    let x = this.#state || 1
    for (let i = 0; i < words.length; i++) {
      // xorshift32: much faster than next() for bulk bytes.
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      words[i] = x >>> 0
    }
    for (let i = words.length * 4; i < bytes.byteLength; i++) bytes[i] = this.below(256)
    this.#state = (this.#state + x) >>> 0
    return bytes
  }
}
