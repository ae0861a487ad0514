/**
 * Parallel ranged downloads: the first answer, the ranges still to fetch, each pinned to the
 * object's ETag, and reading one of them.
 */
import type { BucketRef } from '../../bucket-ref.js'
import type { Expectation } from '../../checksums.js'
import { IntegrityError, InvalidRangeError } from '../../errors.js'
import { bounds, emptyWhateverSize } from '../../ranges.js'
import type { GetObjectOutput } from '../../transport/types.js'
import { answerOf, discard, hasPin, pinInput, pinOf, readSpan, send, type Answer, type Pin, type Stats } from '../get-body.js'
import { headObject } from '../head.js'
import type { Settings } from './options.js'
import { expectationOf } from './verify.js'

// ---- parallel ranged downloads -----------------------------------------------------------------

/** One ranged GET still to make: absolute [start, end) of the object, at `offset` of the output. */
export interface Part {
  start: number
  end: number
  offset: number
}

/** A parallel download under way: its first answer and the ranges still to fetch. */
export interface Download {
  /** Bytes of the whole download. */
  size: number
  /** Absolute [start, end) of the object the download covers. */
  span: [number, number]
  /** The first answer, covering the output's first `length` bytes. */
  first?: { answer: Answer; length: number }
  /** Further ranged GETs, each pinned. */
  rest: Part[]
  pin: Pin
  total?: number
  etag?: string
  /** What the assembled bytes are checked against (whole-object downloads only). */
  expectation?: Expectation
}

export function splitParts(start: number, end: number, offset: number, partSize: number): Part[] {
  const parts: Part[] = []
  for (let at = start; at < end; at += partSize) parts.push({ start: at, end: Math.min(end, at + partSize), offset: offset + at - start })
  return parts
}

/**
 * Start a parallel download: the first part's GET (which tells the object's size and ETag) and
 * the ranges still to fetch. A suffix range longer than a part needs a HEAD for the size. When the
 * first answer has no ETag, a HEAD supplies one (and the first part is fetched again, pinned);
 * with nothing at all to pin to, the download is one plain GET.
 */
export async function openParallel(ref: BucketRef, key: string, s: Settings, signal: AbortSignal): Promise<Download | 'sequential'> {
  const where = { bucket: ref.name, key }
  const slice = s.slice
  if (slice !== undefined && emptyWhateverSize(slice)) return 'sequential'
  let pin: Pin = {}
  let first: Answer | undefined
  let span: [number, number]
  let total: number
  if (slice !== undefined && slice.start < 0) {
    if (-slice.start <= s.partSize) return 'sequential'
    const head = await headObject(ref, key, { signal })
    total = head.size
    span = bounds(slice, total)
    if (head.etag) pin.etag = head.etag
    else if (head.lastModified) pin.lastModified = head.lastModified
  } else {
    const start = slice?.start ?? 0
    const firstEnd = slice?.end !== undefined && slice.end > 0 ? Math.min(slice.end, start + s.partSize) : start + s.partSize
    if (firstEnd <= start) return 'sequential'
    let out: GetObjectOutput
    try {
      out = await send(ref, key, { Range: `bytes=${start}-${firstEnd - 1}` }, signal)
    } catch (err) {
      // An empty object, or a start past the end: 0 bytes.
      if (err instanceof InvalidRangeError) return { size: 0, span: [start, start], rest: [], pin: {} }
      throw err
    }
    first = answerOf(out, where)
    total = first.total ?? first.end
    span = slice === undefined ? [0, total] : bounds(slice, total)
    pin = pinOf(out)
    if (first.start !== start) {
      discard(first.body)
      throw new IntegrityError(`GetObject s3://${ref.name}/${key} answered ${out.ContentRange ?? 'the whole object'} to bytes=${start}-${firstEnd - 1}`, where)
    }
    if (!out.ETag) {
      // Nothing in the answer to pin the other ranges to, or to verify against: ask a HEAD. When
      // more ranges follow, the first is fetched again, pinned to what the HEAD says.
      const head = await headObject(ref, key, { signal })
      if (span[1] - span[0] > first.end - first.start) {
        discard(first.body)
        first = undefined
        pin = head.etag ? { etag: head.etag } : {}
        if (!hasPin(pin)) return 'sequential'
        if (head.size !== total)
          throw new IntegrityError(`s3://${ref.name}/${key} changed during the download`, {
            ...where,
            algorithm: 'size',
            expected: String(total),
            actual: String(head.size),
          })
      } else if (head.etag && head.size === total) {
        // One answer holds it all: its bytes are checked against the HEAD's ETag.
        pin = { ...pin, etag: head.etag }
      }
    }
  }
  const [start, end] = span
  const download: Download = { size: end - start, span, rest: [], pin, total }
  if (pin.etag) download.etag = pin.etag
  if (start === end) {
    if (first) discard(first.body)
    return download
  }
  if (!hasPin(pin) && end - start > s.partSize) return 'sequential'
  const parts = splitParts(start, end, 0, s.partSize)
  if (first) {
    const length = Math.min(first.end, end) - start
    download.first = { answer: first, length }
    download.rest = splitParts(start + length, end, length, s.partSize)
  } else {
    download.rest = parts
  }
  if (s.verify && start === 0 && end === total) {
    const exp = expectationOf(ref, key, { ETag: pin.etag }, total, s.partSize)
    if (exp) download.expectation = exp
  }
  return download
}

/** Read one part `[part.start, part.end)`: from the first answer, or with its own pinned GET. */
export async function* readPart(ref: BucketRef, key: string, d: Download, part: Part | 'first', signal: AbortSignal, stats: Stats): AsyncGenerator<Uint8Array> {
  if (part === 'first') {
    const f = d.first!
    yield* readSpan(ref, key, f.answer, d.span[0], d.span[0] + f.length, d.pin, signal, stats)
    return
  }
  const out = await send(ref, key, { Range: `bytes=${part.start}-${part.end - 1}`, ...pinInput(d.pin) }, signal)
  const answer = answerOf(out, { bucket: ref.name, key })
  if (answer.start > part.start || answer.end < part.end) {
    discard(answer.body)
    throw new IntegrityError(`GetObject s3://${ref.name}/${key} answered ${out.ContentRange ?? 'the whole object'} to bytes=${part.start}-${part.end - 1}`, {
      bucket: ref.name,
      key,
    })
  }
  yield* readSpan(ref, key, answer, part.start, part.end, d.pin, signal, stats)
}

/** Collect a part's bytes (as its chunks, no copy). */
export async function collectPart(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = []
  for await (const c of source) chunks.push(c)
  return chunks
}
