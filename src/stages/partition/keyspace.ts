/**
 * Key-space arithmetic of the partitioned listing, pure functions of the keys seen so far: where
 * to split a range (halfway between its cursor and its end, in UTF-8 order, with the characters
 * seen at each position as digits) and how many keys a range probably has left.
 *
 * @example
 * ```ts
 * const shape = new KeyShape()
 * shape.add([{ key: 'a/0001' }, { key: 'a/0999' }])
 * const plan = planSplit({ first: 'a/0001', last: 'a/0999', n: 1000 }, 'a/0999', undefined, 'a/', shape)
 * ```
 * @packageDocumentation
 */
import { compareKeys } from '../../keys.js'
import type { Sample } from './types.js'

/** Split arithmetic looks at most this many characters past a range's common head. */
const MAX_DEPTH = 300
/** Beyond every character: stands for "end of the key space" in split arithmetic. */
const SENTINEL = -1

/**
 * The characters seen at each position of the keys listed so far (every 8th key of a page and
 * its last): the digits of split-point arithmetic. Split points built from them fall where keys
 * actually branch (a date's day, a host number, a hash's first hex digit).
 */
export class KeyShape {
  #positions: Set<number>[] = []
  #sorted: (number[] | undefined)[] = []
  #all = new Set<number>()
  #allSorted: number[] | undefined

  /** Record the characters of (every 8th of) these keys. */
  add(keys: readonly { key: string }[]): void {
    for (let i = 0; i < keys.length; i += 8) this.addKey(keys[i]!.key)
    if (keys.length > 0) this.addKey(keys.at(-1)!.key)
  }

  addKey(key: string): void {
    let i = 0
    for (const ch of key) {
      const cp = ch.codePointAt(0)!
      let set = this.#positions[i]
      if (set === undefined) set = this.#positions[i] = new Set()
      if (!set.has(cp)) {
        set.add(cp)
        this.#sorted[i] = undefined
        if (!this.#all.has(cp)) {
          this.#all.add(cp)
          this.#allSorted = undefined
        }
      }
      i++
    }
  }

  /** The characters seen at `position`, sorted (all characters seen, for a position never reached). */
  at(position: number): number[] {
    const cached = this.#sorted[position]
    if (cached !== undefined) return cached
    const set = this.#positions[position]
    if (set === undefined || set.size === 0) return (this.#allSorted ??= [...this.#all].sort((a, b) => a - b))
    const sorted = [...set].sort((a, b) => a - b)
    this.#sorted[position] = sorted
    return sorted
  }

  get empty(): boolean {
    return this.#all.size === 0
  }
}

/** Code points of a string; SENTINEL stands for "past every key under the prefix". */
function codePoints(s: string): number[] {
  const out: number[] = []
  for (const ch of s) out.push(ch.codePointAt(0)!)
  return out
}

function commonLength(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  return i
}

/** A range's remaining key space read as numbers (see {@link planSplit}). */
interface Measure {
  /** Width of the sample page. */
  span: bigint
  /** From the cursor to the end. */
  distance: bigint
  /** The cursor as a number. */
  from: bigint
  /** Back to a string. */
  toKey: (n: bigint) => string
}

function measure(sample: Sample, cursor: string, end: string | undefined, prefix: string, shape: KeyShape): Measure | undefined {
  if (shape.empty) return undefined
  const first = codePoints(sample.first)
  const last = codePoints(sample.last)
  const lo = codePoints(cursor)
  const hi = end === undefined ? [...codePoints(prefix), SENTINEL] : codePoints(end)
  const p0 = commonLength(first, hi)
  const depth = Math.max(commonLength(first, last), commonLength(lo, hi), p0) - p0 + 4
  // Keys that share very long heads are not split here (the arithmetic would cost more than it saves).
  if (depth > MAX_DEPTH) return undefined
  // Mixed radix: at position p0 + i the digits are 0 (end of key), 1..n (the n characters seen
  // there) and n + 1 (past every character seen there).
  const alphabets: number[][] = []
  const radix: bigint[] = []
  for (let i = 0; i < depth; i++) {
    const chars = shape.at(p0 + i)
    alphabets.push(chars)
    radix.push(BigInt(chars.length + 2))
  }
  const digitOf = (i: number, cp: number): number => {
    const chars = alphabets[i]!
    if (cp === SENTINEL) return chars.length + 1
    // Number of characters <= cp: a character seen maps to its rank + 1.
    let a = 0
    let b = chars.length
    while (a < b) {
      const mid = (a + b) >> 1
      if (chars[mid]! <= cp) a = mid + 1
      else b = mid
    }
    return a
  }
  const toNumber = (s: number[]): bigint => {
    let n = 0n
    let ended = false
    for (let i = 0; i < depth; i++) {
      const cp = ended ? undefined : s[p0 + i]
      if (cp === undefined) ended = true
      n = n * radix[i]! + BigInt(cp === undefined ? 0 : digitOf(i, cp))
    }
    return n
  }
  let span = toNumber(last) - toNumber(first)
  if (span < 1n) span = 1n
  const from = toNumber(lo)
  const head = String.fromCodePoint(...hi.slice(0, p0))
  const toKey = (value: bigint): string => {
    const digits: number[] = new Array<number>(depth)
    let n = value
    for (let i = depth - 1; i >= 0; i--) {
      digits[i] = Number(n % radix[i]!)
      n /= radix[i]!
    }
    let key = head
    for (let i = 0; i < depth; i++) {
      const d = digits[i]!
      if (d === 0) break // end of key
      const chars = alphabets[i]!
      if (d <= chars.length) key += String.fromCodePoint(chars[d - 1]!)
      else key += String.fromCodePoint(above(chars[chars.length - 1]!))
    }
    while (Buffer.byteLength(key, 'utf8') > 1024) key = String.fromCodePoint(...codePoints(key).slice(0, -1))
    return key
  }
  return { span, distance: toNumber(hi) - from, from, toKey }
}

/** The next code point after `cp` that can be in a key (not a surrogate). */
function above(cp: number): number {
  const next = cp + 1
  if (next >= 0xd800 && next <= 0xdfff) return 0xe000
  return next > 0x10ffff ? cp : next
}

/**
 * Keys left in a range, extrapolated from the density of a sample page (uniform density between
 * the cursor and the end). Infinity when it cannot tell.
 */
export function estimateRemaining(sample: Sample, cursor: string, end: string | undefined, prefix: string, shape: KeyShape): number {
  const m = measure(sample, cursor, end, prefix, shape)
  if (m === undefined) return Infinity
  return (sample.n * Number((m.distance * 1024n) / m.span)) / 1024
}

/**
 * Where to split a range whose next request starts after `cursor` and which ends before `end`
 * (undefined: the end of the prefix), given a page the range listed. Keys are read as numbers
 * whose digits are characters (ranked among those seen at each position, 0 = end of key) and the range is bisected:
 * the split lands halfway between the cursor and the end. Bisection, not interpolation: real key
 * sets are sparse and structured (dates, hosts, hashes), so a density read off one page says
 * little about the key space beyond it; halving converges in a few steps wherever the keys are.
 * Returns undefined when fewer than four pages are estimated to be left (at the page's density).
 * Exported for tests.
 */
export function planSplit(
  sample: Sample,
  cursor: string,
  end: string | undefined,
  prefix: string,
  shape: KeyShape,
  pageSize = 1000,
): { at: string; estimate: number } | undefined {
  const m = measure(sample, cursor, end, prefix, shape)
  if (m === undefined) return undefined
  const estimate = (sample.n * Number((m.distance * 1024n) / m.span)) / 1024
  if (estimate < 4 * pageSize) return undefined
  // Halfway; when the rounding to a real string falls outside the range, a little further on.
  for (const [num, den] of [
    [1n, 2n],
    [5n, 8n],
    [3n, 4n],
    [7n, 8n],
  ] as const) {
    const at = m.toKey(m.from + (m.distance * num) / den)
    if (!at.startsWith(prefix) || compareKeys(at, cursor) <= 0) continue
    if (end !== undefined && compareKeys(`${at}\u0000`, end) >= 0) continue
    return { at, estimate }
  }
  return undefined
}
