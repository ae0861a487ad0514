/**
 * Byte ranges with Python slice semantics: `{ start, end }` or `{ offset, length }`, validated
 * before any request, resolved against an object's size (clamped, never an error), and turned
 * into the HTTP Range header that fetches them with one GET.
 *
 * @example
 * ```ts
 * import { resolveRange } from 'bucketflow'
 * resolveRange({ start: -5 }, 20) // [15, 20]
 * resolveRange({ offset: 18, length: 10 }, 20) // [18, 20]
 * ```
 * @packageDocumentation
 */
import { InvalidArgumentError } from './errors.js'
import { describeValue } from './validate.js'

/**
 * A byte range with Python slice semantics (see the module docs): `{ start, end }`, or
 * `{ offset, length }`; not both forms at once.
 */
export interface ByteRange {
  /** First byte (inclusive); negative counts from the end. Default 0. */
  start?: number
  /** End (exclusive); negative counts from the end; past the object means its end. Default: the end. */
  end?: number
  /** First byte (the `{ offset, length }` form); negative counts from the end. Default 0. */
  offset?: number
  /** Bytes from `offset` (an integer >= 0), clamped to the object. Default: to the end. */
  length?: number
}

/** A validated slice: `start` (may be negative) and optional `end` (may be negative). */
export interface Slice {
  start: number
  end?: number
}

/** Where an error points: the bucket and key. */
export type Where = { bucket: string; key: string }

function badRange(name: string, value: unknown, where: Partial<Where>, why = 'an integer'): InvalidArgumentError {
  return new InvalidArgumentError(`Expected ${name} to be ${why}, got ${describeValue(value)}`, { argument: name, ...where })
}

/**
 * Validate a range and reduce it to `{ start, end? }`, or undefined for the whole object. Throws
 * InvalidArgumentError for a non-integer bound, a negative length, or both forms at once.
 *
 * @example
 * ```ts
 * normalizeRange({ offset: 10, length: 5 }) // { start: 10, end: 15 }
 * ```
 */
export function normalizeRange(range: ByteRange, where: Partial<Where> = {}): Slice | undefined {
  if (range === null || typeof range !== 'object') return undefined
  const { start, end, offset, length } = range
  for (const [name, value] of [
    ['start', start],
    ['end', end],
    ['offset', offset],
    ['length', length],
  ] as const) {
    if (value !== undefined && !Number.isSafeInteger(value)) throw badRange(name, value, where)
  }
  const pair = start !== undefined || end !== undefined
  const ol = offset !== undefined || length !== undefined
  if (pair && ol) {
    throw new InvalidArgumentError('Expected either { start, end } or { offset, length }, got both forms', {
      argument: offset !== undefined ? 'offset' : 'length',
      ...where,
    })
  }
  if (ol) {
    if (length !== undefined && length < 0) throw badRange('length', length, where, 'an integer >= 0')
    const from = offset ?? 0
    if (length === undefined) return from === 0 ? undefined : { start: from }
    if (from >= 0) return { start: from, end: from + length }
    // A negative offset: `length` bytes from there, clamped to the end of the object.
    return from + length >= 0 ? { start: from } : { start: from, end: from + length }
  }
  if (!pair) return undefined
  if ((start ?? 0) === 0 && end === undefined) return undefined
  return end === undefined ? { start: start ?? 0 } : { start: start ?? 0, end }
}

/**
 * Resolve a range against an object size, Python style: returns [start, end) within [0, size],
 * with an end past the object clamped and an empty range (start >= end) as [start, start].
 *
 * @example
 * ```ts
 * resolveRange({ start: -5 }, 20) // [15, 20]
 * resolveRange({ start: 0, end: 1024 }, 10) // [0, 10]
 * ```
 */
export function resolveRange(range: ByteRange, size: number, where: Partial<Where> = {}): [number, number] {
  const slice = normalizeRange(range, where)
  return slice === undefined ? [0, size] : bounds(slice, size)
}

export function bounds(slice: Slice, size: number): [number, number] {
  const norm = (v: number) => (v < 0 ? Math.max(0, size + v) : Math.min(v, size))
  const start = norm(slice.start)
  const end = slice.end === undefined ? size : norm(slice.end)
  return [start, Math.max(start, end)]
}

/** True when the slice is empty whatever the object's size. */
export function emptyWhateverSize(slice: Slice): boolean {
  if (slice.end === undefined) return false
  if (slice.end === 0) return true
  return (slice.start >= 0 && slice.end >= 0 && slice.end <= slice.start) || (slice.start < 0 && slice.end < 0 && slice.end <= slice.start)
}

/** The Range header that fetches a superset of the slice starting at its first byte. */
export function rangeHeader(slice: Slice | undefined): string | undefined {
  if (slice === undefined) return undefined
  const { start, end } = slice
  if (start < 0) return `bytes=${start}`
  if (end !== undefined && end > 0 && end > start) return `bytes=${start}-${end - 1}`
  return start === 0 ? undefined : `bytes=${start}-`
}
