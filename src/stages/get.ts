/**
 * Downloads: into memory, into a local file, or as a stream; whole objects or byte ranges.
 *
 * Ranges use Python slice semantics, like hostess: `{ start, end }` is the half-open interval
 * [start, end); negative numbers count from the end of the object (`{ start: 0, end: -1 }` is all
 * but the last byte; `{ start: -100 }` is the last 100 bytes). An end past the object is clamped
 * to it, and a start at or past the end (or past `end`) gives 0 bytes, as `bytes[a:b]` does in
 * Python; only a non-integer is an {@link InvalidArgumentError}, raised before any request.
 * `{ offset, length }` is the same as `{ start: offset, end: offset + length }` (a negative
 * offset counts from the end; the length is clamped to the object). A range costs one ranged
 * GET, no HEAD: the server clamps the end, a 416 means the start is past the end (0 bytes), and a
 * negative end is applied once the first answer's Content-Range has told the object's size.
 *
 * **Verification.** Unless `verify: false`, every download is checked against what the server
 * offers: a whole object against a stored full-object checksum (CRC32, SHA-256, SHA-1, CRC64NVME,
 * CRC32C, asked for with `x-amz-checksum-mode: ENABLED`) or the MD5 its ETag is (single-part,
 * not SSE-KMS/SSE-C), or, for a multipart ETag (`...-N`), the MD5 of each `partSize` part when
 * that gives the object exactly N parts; otherwise, and for ranges, its length. A mismatch is an
 * {@link IntegrityError} with `algorithm`, `expected` and `actual`; a file destination is then
 * left untouched (the bytes go to a temporary file that is renamed into place only once
 * verified), and a download to a file or to memory is fetched again once before failing. What
 * was verified is reported through `onVerified` (and as `verified` on the results of the array
 * forms, and a `'verified'` event on streams).
 *
 * **Faults.** A response body that breaks (a reset, a truncated body, or no byte for the client's
 * `idleTimeout`) is resumed with a ranged GET from the first byte not yet received, pinned to the
 * object's ETag (`If-Match`; else its VersionId or Last-Modified), up to the client's
 * `maxAttempts` times in a row without progress; then the download fails with a typed error.
 *
 * **Parallel ranges.** With `concurrency` > 1, {@link getToFile} and {@link streamObject} split
 * an object (or range) larger than `partSize` into ranged GETs of `partSize` bytes, `concurrency`
 * at a time, each pinned to the first response's ETag (or, if it has none, a HEAD's), so an object
 * replaced during the download fails with {@link IntegrityError} instead of mixing two versions.
 * With nothing to pin to, the download is one plain GET. The assembled object is verified
 * against its ETag as above.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join, resolve as resolvePath } from 'node:path'
import { Readable } from 'node:stream'
import { transportOf, type BucketRef } from '../bucket-ref.js'
import type { GetObjectOutput } from '../transport/types.js'
import { expectationFor, hasherFor, createHasher, multipartEtagParts, plainMd5, type ContentClaims, type Expectation, type Hasher, type Verification } from '../checksums.js'
import { clientSettings } from '../client.js'
import {
  AbortError,
  BucketflowError,
  IntegrityError,
  InvalidArgumentError,
  InvalidRangeError,
  toBucketflowError,
} from '../errors.js'
import { containedPath, safeDestination } from '../paths.js'
import { bounds, emptyWhateverSize, normalizeRange, rangeHeader, type ByteRange, type Slice, type Where } from '../ranges.js'
import { linkedController, boundedMap, mapResults, type Result, type StageOptions } from '../results.js'
import { describeValue, validateInteger, validateKey } from '../validate.js'
import { answerOf, discard, hasPin, pinInput, pinOf, readSpan, send, type Answer, type Pin, type Stats } from './get-body.js'
import { headObject } from './head.js'

export { normalizeRange, resolveRange, type ByteRange } from '../ranges.js'

const MiB = 1024 * 1024
/** Default bytes per ranged GET of a large download: 8 MiB. */
export const DEFAULT_GET_PART_SIZE = 8 * MiB
/** Smallest `partSize` for downloads: 1 MiB. */
export const MIN_GET_PART_SIZE = MiB
/** Largest `partSize` for downloads: 1 GiB (a part is one Buffer when streaming). */
export const MAX_GET_PART_SIZE = 1024 * MiB
/** Default ranged GETs in flight for one large download. */
export const DEFAULT_GET_CONCURRENCY = 1
/** A download to a file of one response up to this size is written with one call. */
const ONE_WRITE = 8 * MiB
/** Bytes gathered before one positional write to the file. */
const WRITE_BUFFER = MiB
/**
 * A whole-object answer cut short by a negative `end` is read to its end (and the tail thrown
 * away) when at most this much is left, so it can still be verified against its checksum.
 */
const READ_PAST_FOR_VERIFY = MiB


/** What a finished download was checked against, passed to `onVerified`. */
export interface DownloadInfo {
  bucket: string
  key: string
  /** How the bytes were verified (`'size'` when nothing stronger was offered; `'none'` with `verify: false`). */
  verified: Verification
  /** Bytes delivered. */
  size: number
  /** The object's size, when an answer told it. */
  objectSize?: number
  /** The object's ETag (as sent, quoted), when an answer had one. */
  etag?: string
  /** Times a broken response body was resumed. */
  resumes: number
  /** Downloads of the whole thing (2 when the first failed verification and was fetched again). */
  attempts: number
}

/** Options for downloads. */
export interface GetOptions extends ByteRange {
  /** Abort the download: every request in flight stops; a file download leaves no file. */
  signal?: AbortSignal
  /**
   * Bytes per ranged GET when downloading a large object to a file or a stream; objects (or
   * ranges) up to this size take one GET. Also the part size a multipart ETag is checked with.
   * An integer between 1 MiB and 1 GiB. @default 8388608 (8 MiB)
   */
  partSize?: number
  /**
   * Ranged GETs in flight at once for one large download (to a file or a stream). An integer
   * >= 1. Default 1: one GET for the whole object (or range). Parallel ranges pay where the
   * network, not the server, is the limit; against a radosgw on the same 2-core machine a
   * 256 MiB stream took 0.38 s with one GET and 0.73 s with 8 MiB x 4 ranges, so it is opt-in.
   * (Not the bucket's `concurrency`, which counts objects in parallel calls.)
   * @default 1
   */
  concurrency?: number
  /**
   * Check the bytes against the checksum (or ETag MD5, or length) the server offers. `false`
   * checks only the length. @default true
   */
  verify?: boolean
  /** Called once the download is complete and verified, before the promise resolves (or the stream ends). */
  onVerified?: (info: DownloadInfo) => void
  /**
   * For a download to a file: a folder the file must stay inside, by real paths: a symbolic link
   * on the way that leads outside it makes the download fail with InvalidArgumentError (and
   * writes nothing). The array forms with a destination folder set it to that folder.
   */
  root?: string
}

// ---- verification ------------------------------------------------------------------------------

/** Checks the bytes of one download as they pass, in order. */
class Verifier {
  readonly hasher: Hasher | undefined
  constructor(readonly expectation: Expectation | undefined) {
    this.hasher = expectation ? hasherFor(expectation) : undefined
  }
  update(bytes: Uint8Array): void {
    this.hasher?.update(bytes)
  }
}

/** Settings of one download, validated. */
interface Settings {
  partSize: number
  concurrency: number
  verify: boolean
  slice: Slice | undefined
  /** A composite digest a previous attempt computed that mismatched with an unconfirmed layout. */
  acceptDigest?: string
}

function settingsOf(opts: GetOptions, key: string, bucket: string): Settings {
  const where = { key, bucket }
  const partSize = opts.partSize ?? DEFAULT_GET_PART_SIZE
  const concurrency = opts.concurrency ?? DEFAULT_GET_CONCURRENCY
  try {
    validateInteger(partSize, 'partSize', MIN_GET_PART_SIZE, MAX_GET_PART_SIZE)
    validateInteger(concurrency, 'concurrency', 1)
  } catch (err) {
    const e = err as InvalidArgumentError
    throw new InvalidArgumentError(e.message, { argument: e.argument ?? 'options', ...where })
  }
  if (opts.verify !== undefined && typeof opts.verify !== 'boolean') {
    throw new InvalidArgumentError(`Expected verify to be a boolean, got ${describeValue(opts.verify)}`, { argument: 'verify', ...where })
  }
  if (opts.onVerified !== undefined && typeof opts.onVerified !== 'function') {
    throw new InvalidArgumentError(`Expected onVerified to be a function, got ${describeValue(opts.onVerified)}`, { argument: 'onVerified', ...where })
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`Expected signal to be an AbortSignal, got ${describeValue(opts.signal)}`, { argument: 'signal', ...where })
  }
  if (opts.root !== undefined && typeof opts.root !== 'string') {
    throw new InvalidArgumentError(`Expected root to be a folder path, got ${describeValue(opts.root)}`, { argument: 'root', ...where })
  }
  return { partSize, concurrency, verify: opts.verify ?? true, slice: normalizeRange(opts, where) }
}

/**
 * Validate download options (range, partSize, concurrency, verify, onVerified, signal) and throw
 * InvalidArgumentError naming the wrong one; the array forms call it once, before any request.
 *
 * @example
 * ```ts
 * validateGetOptions({ start: 'x' as never }) // throws: start
 * ```
 */
export function validateGetOptions(opts: GetOptions, where: { bucket: string; key?: string } = { bucket: '' }): void {
  settingsOf(opts, where.key ?? '', where.bucket)
}

/**
 * Compare a finished digest with the expectation. A multipart ETag checked with a guessed part
 * size proves the bytes when it matches; when it does not, a HEAD with `partNumber=1` tells
 * whether the guess was right (the mismatch is then corruption). A server that cannot say
 * leaves it unproven: an IntegrityError marked `unconfirmed`, which a download that can be
 * fetched again settles by comparing two downloads.
 */
async function check(ref: BucketRef, key: string, exp: Expectation, actual: string, s: Settings, signal: AbortSignal): Promise<Verification> {
  const where = { bucket: ref.name, key }
  const expected = exp.expected
  if (actual === expected) return exp.algorithm
  if (exp.algorithm === 'md5-parts') {
    if (s.acceptDigest === actual) {
      // Two downloads agree: the bytes are right and the part layout is not the guessed one.
      rememberUnknownLayout(ref, key, expected)
      return 'size'
    }
    const confirmed = await confirmLayout(ref, key, exp, signal)
    if (!confirmed) {
      throw new UnconfirmedLayoutError(
        `s3://${ref.name}/${key}: its multipart ETag ${expected} does not match the parts of ${exp.partSize} bytes downloaded (${actual}), and the server does not say its part size; download it with the partSize it was uploaded with, or verify: false`,
        { ...where, algorithm: exp.algorithm, expected, actual },
      )
    }
  }
  throw new IntegrityError(`s3://${ref.name}/${key} arrived corrupted: ${exp.algorithm} expected ${expected}, got ${actual}`, {
    ...where,
    algorithm: exp.algorithm,
    expected,
    actual,
  })
}

/**
 * Multipart ETags whose part layout turned out not to be the guessed one (two downloads agreed
 * against it): later downloads of the same object check only the length instead of paying for
 * a second download every time. Bounded (oldest forgotten first).
 */
const unknownLayouts = new Set<string>()
const UNKNOWN_LAYOUTS_KEPT = 1000

function layoutId(ref: BucketRef, key: string, etag: string): string {
  return `${ref.name}\0${key}\0${etag.replace(/"/g, '')}`
}

function rememberUnknownLayout(ref: BucketRef, key: string, etag: string): void {
  unknownLayouts.add(layoutId(ref, key, etag))
  if (unknownLayouts.size > UNKNOWN_LAYOUTS_KEPT) unknownLayouts.delete(unknownLayouts.values().next().value!)
}

/** The expectation for a whole-object answer, unless its multipart layout is known to be unknown. */
function expectationOf(ref: BucketRef, key: string, claims: ContentClaims, total: number, partSize: number): Expectation | undefined {
  const exp = expectationFor(claims, total, partSize)
  if (exp?.algorithm === 'md5-parts' && unknownLayouts.has(layoutId(ref, key, exp.expected))) return undefined
  return exp
}

/** An IntegrityError where a multipart layout could not be confirmed (see {@link check}). */
class UnconfirmedLayoutError extends IntegrityError {}

/**
 * For a stream, whose bytes are already handed over: settle an unconfirmed multipart mismatch
 * by downloading the object again (discarding the bytes). Two downloads that agree mean the
 * part layout was guessed wrong and the bytes are right (`size`); a second download that
 * matches the ETag means the first was corrupt (IntegrityError).
 */
async function settle(ref: BucketRef, key: string, s: Settings, signal: AbortSignal, run: () => Promise<Verification>): Promise<Verification> {
  try {
    return await run()
  } catch (err) {
    if (!(err instanceof UnconfirmedLayoutError) || err.actual === undefined) throw err
    let second: Verification | undefined
    for await (const _ of sequential(ref, key, { ...s, slice: undefined, acceptDigest: err.actual }, signal, (i) => (second = i.verified))) void _
    if (second === 'size') return 'size'
    throw new IntegrityError(`s3://${ref.name}/${key} arrived corrupted: a second download matches its ETag ${err.expected}, the bytes delivered did not (${err.actual})`, {
      bucket: ref.name,
      key,
      algorithm: 'md5-parts',
      ...(err.expected !== undefined ? { expected: err.expected } : {}),
      actual: err.actual,
    })
  }
}

async function confirmLayout(ref: BucketRef, key: string, exp: Expectation, signal: AbortSignal): Promise<boolean> {
  try {
    const out = await transportOf(ref).headObject({ Bucket: ref.name, Key: key, PartNumber: 1 }, { signal })
    const parts = multipartEtagParts(exp.expected)?.parts
    return out.PartsCount !== undefined && out.PartsCount === parts && out.ContentLength === exp.partSize
  } catch {
    return false
  }
}

// ---- sequential downloads (one GET, resumed as needed) ------------------------------------------

/** The first answer of a download and what to do with it. */
interface Opened {
  /** The answer (undefined: nothing to fetch, 0 bytes). */
  answer?: Answer
  /** Bytes delivered: absolute [start, end). */
  want: [number, number]
  /** Bytes read (and hashed): absolute [from, until), covering `want`. */
  read: [number, number]
  pin: Pin
  expectation?: Expectation
  total?: number
  etag?: string
}

/**
 * Send the first GET of a sequential download and decide which bytes to read and what to check
 * them against. A whole object asks for stored checksums; a range is checked by its length.
 */
async function openSequential(ref: BucketRef, key: string, s: Settings, signal: AbortSignal): Promise<Opened> {
  const where = { bucket: ref.name, key }
  const slice = s.slice
  if (slice !== undefined && emptyWhateverSize(slice)) {
    // Nothing to read; a HEAD still tells a missing object from an empty slice.
    const head = await headObject(ref, key, { signal })
    const [start] = bounds(slice, head.size)
    return { want: [start, start], read: [start, start], pin: {}, total: head.size, ...(head.etag ? { etag: head.etag } : {}) }
  }
  const header = rangeHeader(slice)
  let out: GetObjectOutput
  try {
    out = await send(ref, key, header ? { Range: header } : {}, signal, s.verify && header === undefined)
  } catch (err) {
    // A start at or past the end (or any range of an empty object): 0 bytes, as in Python.
    if (err instanceof InvalidRangeError && header !== undefined) return { want: [0, 0], read: [0, 0], pin: {} }
    throw err
  }
  const answer = answerOf(out, where)
  const total = answer.total ?? answer.end
  const want: [number, number] = slice === undefined ? [0, total] : bounds(slice, total)
  if (want[0] < answer.start || want[1] > answer.end) {
    discard(answer.body)
    throw new IntegrityError(`GetObject s3://${ref.name}/${key} answered ${out.ContentRange ?? 'the whole object'}, which does not hold bytes ${want[0]}-${want[1]}`, where)
  }
  const opened: Opened = { answer, want, read: [want[0], want[1]], pin: pinOf(out), total }
  if (out.ETag) opened.etag = out.ETag
  // The answer holds the whole object (a whole GET, or a range that covers it all, as a range
  // past the end of a small object does): check it against what the object is.
  const coversAll = answer.start === 0 && answer.end === total
  if (s.verify && coversAll && total - want[1] <= READ_PAST_FOR_VERIFY && want[0] === 0) {
    let expectation = expectationOf(ref, key, out, total, s.partSize)
    // No ETag and no checksum (a proxy may drop it): hash as MD5 and ask a HEAD afterwards.
    if (expectation === undefined && !out.ETag) expectation = { algorithm: 'md5', expected: '' }
    if (expectation) {
      opened.expectation = expectation
      opened.read = [0, total]
    }
  }
  return opened
}

/** Yield the bytes of a sequential download, verify them, and report. */
async function* sequential(
  ref: BucketRef,
  key: string,
  s: Settings,
  signal: AbortSignal,
  report: (info: Partial<DownloadInfo>) => void,
  settleCheck: (run: () => Promise<Verification>) => Promise<Verification> = (run) => run(),
): AsyncGenerator<Uint8Array> {
  const stats: Stats = { resumes: 0 }
  const o = await openSequential(ref, key, s, signal)
  const [ws, we] = o.want
  if (o.answer && o.read[1] === o.read[0]) discard(o.answer.body)
  if (!o.answer || (we === ws && o.read[1] === o.read[0] && o.expectation === undefined)) {
    report({ verified: s.verify ? 'size' : 'none', size: 0, ...(o.total !== undefined ? { objectSize: o.total } : {}), ...(o.etag ? { etag: o.etag } : {}), resumes: 0 })
    return
  }
  const verifier = new Verifier(o.expectation)
  let at = o.read[0]
  for await (const chunk of readSpan(ref, key, o.answer, o.read[0], o.read[1], o.pin, signal, stats)) {
    verifier.update(chunk)
    const chunkStart = at
    at += chunk.byteLength
    const from = Math.max(ws, chunkStart)
    const to = Math.min(we, at)
    if (to > from) yield from === chunkStart && to === at ? chunk : chunk.subarray(from - chunkStart, to - chunkStart)
  }
  let verified: Verification = s.verify ? 'size' : 'none'
  let exp = o.expectation
  if (exp && verifier.hasher) {
    const actual = verifier.hasher.digest()
    if (exp.expected === '') {
      // The answer had no ETag: take it from a HEAD (a plain MD5 proves the bytes; a mismatch
      // may be a newer object, which a second download settles).
      const head = await headObject(ref, key, { signal })
      const md5 = plainMd5(head.etag)
      exp = md5 === undefined ? undefined : { algorithm: 'md5', expected: md5 }
    }
    if (exp) {
      const e = exp
      verified = await settleCheck(() => check(ref, key, e, actual, s, signal))
    }
  }
  report({ verified, size: we - ws, ...(o.total !== undefined ? { objectSize: o.total } : {}), ...(o.etag ? { etag: o.etag } : {}), resumes: stats.resumes })
}

// ---- one object into memory --------------------------------------------------------------------

/**
 * Fetch again (once, or up to the client's `maxAttempts`) a download to memory or a file that
 * failed verification, since nothing was handed over yet. A multipart ETag that could not be
 * confirmed is accepted (as `size`) when two downloads agree byte for byte.
 */
async function withVerifyRetry<T>(ref: BucketRef, key: string, s: Settings, signal: AbortSignal, attempt: (s: Settings, n: number) => Promise<T>): Promise<T> {
  const { maxAttempts } = clientSettings(ref.client)
  let settings = s
  for (let n = 1; ; n++) {
    try {
      return await attempt(settings, n)
    } catch (err) {
      if (!(err instanceof IntegrityError) || signal.aborted || n >= Math.max(2, maxAttempts)) throw err
      if (err instanceof UnconfirmedLayoutError && err.actual !== undefined) settings = { ...settings, acceptDigest: err.actual }
    }
  }
}

function infoReporter(ref: BucketRef, key: string, opts: GetOptions, attempts: () => number) {
  return (info: Partial<DownloadInfo>) => {
    const full: DownloadInfo = { bucket: ref.name, key, verified: info.verified ?? 'none', size: info.size ?? 0, resumes: info.resumes ?? 0, attempts: attempts() }
    if (info.objectSize !== undefined) full.objectSize = info.objectSize
    if (info.etag !== undefined) full.etag = info.etag
    opts.onVerified?.(full)
  }
}

/**
 * Download an object (or a range of it) into one Buffer. Memory: the object's (range's) size.
 *
 * @example
 * ```ts
 * const head = await getObject(bucket, 'data.bin', { start: 0, end: 4 }) // the first 4 bytes
 * const all = await getObject(bucket, 'data.bin', { onVerified: (i) => console.log(i.verified) }) // 'md5'
 * ```
 */
export async function getObject(ref: BucketRef, key: string, opts: GetOptions = {}): Promise<Buffer> {
  validateKey(key, ref.name)
  const s = settingsOf(opts, key, ref.name)
  const where = { bucket: ref.name, key }
  const { controller, dispose } = linkedController(opts.signal)
  const signal = controller.signal
  let attempts = 0
  const report = infoReporter(ref, key, opts, () => attempts)
  try {
    return await withVerifyRetry(ref, key, s, signal, async (settings, n) => {
      attempts = n
      let pending: Partial<DownloadInfo> | undefined
      const chunks: Uint8Array[] = []
      for await (const chunk of sequential(ref, key, settings, signal, (i) => (pending = i))) chunks.push(chunk)
      const buffer = chunks.length === 1 ? Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength) : Buffer.concat(chunks)
      if (pending) report(pending)
      return buffer
    })
  } catch (err) {
    throw failure(err, signal, where)
  } finally {
    dispose()
    controller.abort(new AbortError('The download finished', where))
  }
}

/**
 * A typed error for a failure. Once the signal aborted, the abort's reason is the error when it
 * is one of ours (the first failure of a parallel download aborts the rest with it); any other
 * abort (the caller's signal, the consumer stopping) is an AbortError.
 */
function failure(err: unknown, signal: AbortSignal, where: Where): BucketflowError {
  if (signal.aborted) {
    const reason: unknown = signal.reason
    if (reason instanceof BucketflowError) return reason
    if (err instanceof AbortError) return err
    return new AbortError(`GetObject s3://${where.bucket}/${where.key} was aborted`, { ...where, cause: reason ?? err })
  }
  return toBucketflowError(err, { ...where, operation: 'GetObject' })
}

// ---- parallel ranged downloads -----------------------------------------------------------------

/** One ranged GET still to make: absolute [start, end) of the object, at `offset` of the output. */
interface Part {
  start: number
  end: number
  offset: number
}

/** A parallel download under way: its first answer and the ranges still to fetch. */
interface Download {
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

function splitParts(start: number, end: number, offset: number, partSize: number): Part[] {
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
async function openParallel(ref: BucketRef, key: string, s: Settings, signal: AbortSignal): Promise<Download | 'sequential'> {
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
        if (head.size !== total) throw new IntegrityError(`s3://${ref.name}/${key} changed during the download`, { ...where, algorithm: 'size', expected: String(total), actual: String(head.size) })
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
async function* readPart(ref: BucketRef, key: string, d: Download, part: Part | 'first', signal: AbortSignal, stats: Stats): AsyncGenerator<Uint8Array> {
  if (part === 'first') {
    const f = d.first!
    yield* readSpan(ref, key, f.answer, d.span[0], d.span[0] + f.length, d.pin, signal, stats)
    return
  }
  const out = await send(ref, key, { Range: `bytes=${part.start}-${part.end - 1}`, ...pinInput(d.pin) }, signal)
  const answer = answerOf(out, { bucket: ref.name, key })
  if (answer.start > part.start || answer.end < part.end) {
    discard(answer.body)
    throw new IntegrityError(`GetObject s3://${ref.name}/${key} answered ${out.ContentRange ?? 'the whole object'} to bytes=${part.start}-${part.end - 1}`, { bucket: ref.name, key })
  }
  yield* readSpan(ref, key, answer, part.start, part.end, d.pin, signal, stats)
}

/** Collect a part's bytes (as its chunks, no copy). */
async function collectPart(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = []
  for await (const c of source) chunks.push(c)
  return chunks
}

/**
 * Stream an object (or a range of it). Returns at once; the requests start when the stream is
 * read, and errors (typed) arrive as the stream's 'error'. A verification failure is an error
 * at the end of the stream (the bytes before it were already handed over: treat the whole
 * stream as failed); on success a `'verified'` event with the {@link DownloadInfo} comes before
 * `'end'`.
 *
 * By default (`concurrency` 1) it is one GET, streamed through (memory: the stream's
 * highWaterMark). With `concurrency` > 1, an object (or range) larger than `partSize` is fetched
 * as ranged GETs of `partSize` bytes, `concurrency` at a time, and its bytes are yielded in
 * order. Memory then: at most `concurrency` parts, about `partSize * concurrency` bytes, beyond
 * the chunk its reader is handling: a new part is requested only when the reader has taken one.
 * Destroying the stream (or aborting `signal`) aborts every request in flight.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * await pipeline(streamObject(bucket, 'big.bin', { partSize: 16 * 1024 * 1024 }), process.stdout)
 * ```
 */
export function streamObject(ref: BucketRef, key: string, opts: GetOptions = {}): Readable {
  validateKey(key, ref.name)
  const s = settingsOf(opts, key, ref.name)
  const where = { bucket: ref.name, key }
  const { controller, dispose } = linkedController(opts.signal)
  const signal = controller.signal
  let readable: Readable | undefined
  const report = (info: Partial<DownloadInfo>) => {
    const full: DownloadInfo = { bucket: ref.name, key, verified: info.verified ?? 'none', size: info.size ?? 0, resumes: info.resumes ?? 0, attempts: 1 }
    if (info.objectSize !== undefined) full.objectSize = info.objectSize
    if (info.etag !== undefined) full.etag = info.etag
    opts.onVerified?.(full)
    readable?.emit('verified', full)
  }
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      const download = s.concurrency > 1 ? await openParallel(ref, key, s, signal) : 'sequential'
      if (download === 'sequential') {
        // A stream hands its bytes over as they come: a multipart ETag that does not match a
        // guessed part layout is settled by a second download before the stream ends.
        yield* sequential(ref, key, s, signal, report, (run) => settle(ref, key, s, signal, run))
        return
      }
      const stats: Stats = { resumes: 0 }
      const verifier = new Verifier(download.expectation)
      type Task = Part | 'first'
      const tasks: Task[] = [...(download.first ? ['first' as const] : []), ...download.rest]
      const fetch = async (task: Task): Promise<{ ok: true; bytes: Uint8Array[] } | { ok: false; error: unknown }> => {
        try {
          return { ok: true, bytes: await collectPart(readPart(ref, key, download, task, signal, stats)) }
        } catch (error) {
          controller.abort(failure(error, signal, where))
          return { ok: false, error }
        }
      }
      for await (const r of boundedMap(tasks, fetch, s.concurrency, true)) {
        if (!r.ok) throw r.error
        for (const b of r.bytes) verifier.update(b)
        yield* r.bytes
      }
      let verified: Verification = s.verify ? 'size' : 'none'
      if (download.expectation && verifier.hasher) verified = await settle(ref, key, s, signal, () => check(ref, key, download.expectation!, verifier.hasher!.digest(), s, signal))
      report({ verified, size: download.size, resumes: stats.resumes, ...(download.total !== undefined ? { objectSize: download.total } : {}), ...(download.etag ? { etag: download.etag } : {}) })
    } catch (err) {
      throw failure(err, signal, where)
    } finally {
      dispose()
      controller.abort(new AbortError('The consumer stopped', where))
    }
  }
  readable = Readable.from(chunks(), { objectMode: false })
  // Destroying the stream aborts the requests in flight at once (the generator only learns of it
  // at its next step).
  readable.once('close', () => controller.abort(new AbortError('The stream was destroyed', where)))
  return readable
}

// ---- into a file -------------------------------------------------------------------------------

async function writeAll(file: FileHandle, bytes: Uint8Array, length: number, position: number): Promise<void> {
  let done = 0
  while (done < length) {
    const { bytesWritten } = await file.write(bytes, done, length - done, position + done)
    done += bytesWritten
  }
}

/** Write chunks at `position` of the file, in writes of up to 1 MiB; resolves to the bytes written. */
async function writeChunks(source: AsyncIterable<Uint8Array>, file: FileHandle, position: number, hasher?: Hasher): Promise<number> {
  const buffer = Buffer.allocUnsafe(WRITE_BUFFER)
  let filled = 0
  let at = 0
  for await (const chunk of source) {
    hasher?.update(chunk)
    let used = 0
    while (used < chunk.byteLength) {
      const n = Math.min(buffer.length - filled, chunk.byteLength - used)
      buffer.set(chunk.subarray(used, used + n), filled)
      filled += n
      used += n
      if (filled === buffer.length) {
        await writeAll(file, buffer, filled, position + at + used - filled)
        filled = 0
      }
    }
    at += chunk.byteLength
  }
  if (filled > 0) await writeAll(file, buffer, filled, position + at - filled)
  return at
}

/** Hash a file from its start (for a parallel download whose parts were written out of order). */
async function hashFile(path: string, hasher: Hasher, signal: AbortSignal): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: WRITE_BUFFER, signal })) hasher.update(chunk as Buffer)
}

/** The temporary name beside a destination. */
function partialName(dir: string, name: string): string {
  return join(dir, `${name}.bucketflow-partial-${process.pid}-${Math.random().toString(36).slice(2, 10)}`)
}

/**
 * Download an object into a local file, creating parent folders. The bytes go to a new
 * temporary file beside the destination (created exclusively, so a link planted at its name is
 * never followed) that is renamed into place only once complete and verified, so a failed,
 * aborted or corrupt download leaves the destination as it was. An existing symbolic link at
 * the destination is replaced, not followed. With `root`, the destination's real folder must be
 * inside `root`'s real path. Resolves to the path written.
 *
 * By default (`concurrency` 1) it is one GET. With `concurrency` > 1, an object (or range)
 * larger than `partSize` is fetched as ranged GETs of `partSize` bytes, `concurrency` at a time,
 * each written at its offset; if the object is replaced meanwhile, the download fails with
 * {@link IntegrityError}. Memory: a single response up to 8 MiB is held and written at once;
 * otherwise up to 1 MiB of write buffer per request in flight, whatever the object's size.
 *
 * @example
 * ```ts
 * await getToFile(bucket, 'dumps/db.bin', './db.bin', { partSize: 16 * 1024 * 1024, concurrency: 8 })
 * ```
 */
export async function getToFile(ref: BucketRef, key: string, destination: string, opts: GetOptions = {}): Promise<string> {
  validateKey(key, ref.name)
  const s = settingsOf(opts, key, ref.name)
  if (typeof destination !== 'string' || destination === '') {
    throw new InvalidArgumentError(`Expected destination to be a file path, got ${describeValue(destination)}`, { argument: 'destination', bucket: ref.name, key })
  }
  const where = { bucket: ref.name, key }
  const { controller, dispose } = linkedController(opts.signal)
  const signal = controller.signal
  let attempts = 0
  const report = infoReporter(ref, key, opts, () => attempts)
  try {
    let target: string
    if (opts.root !== undefined) target = await containedPath(opts.root, destination, where)
    else {
      await mkdir(dirname(destination), { recursive: true })
      target = destination
    }
    await withVerifyRetry(ref, key, s, signal, async (settings, n) => {
      attempts = n
      const info = await downloadTo(ref, key, target, settings, signal)
      report(info)
    })
  } catch (err) {
    const error = failure(err, signal, where)
    controller.abort(error)
    throw error
  } finally {
    dispose()
  }
  return destination
}

/** One attempt of a file download: into a temporary file, renamed into place once verified. */
async function downloadTo(ref: BucketRef, key: string, target: string, s: Settings, signal: AbortSignal): Promise<Partial<DownloadInfo>> {
  const where = { bucket: ref.name, key }
  const partial = partialName(dirname(target), basename(target))
  let file: FileHandle | undefined
  try {
    const download = s.concurrency > 1 ? await openParallel(ref, key, s, signal) : 'sequential'
    file = await open(partial, 'wx')
    let info: Partial<DownloadInfo>
    if (download === 'sequential') {
      let pending: Partial<DownloadInfo> = {}
      const source = sequential(ref, key, s, signal, (i) => (pending = i))
      const held: Uint8Array[] = []
      let heldBytes = 0
      let position = 0
      // Small answers: gathered and written with one call; larger: streamed in 1 MiB writes.
      for await (const chunk of source) {
        if (position === 0 && heldBytes + chunk.byteLength <= ONE_WRITE) {
          held.push(chunk)
          heldBytes += chunk.byteLength
          continue
        }
        if (held.length > 0) {
          const all = Buffer.concat(held)
          await writeAll(file, all, all.length, 0)
          position = all.length
          held.length = 0
          heldBytes = 0
        }
        await writeAll(file, chunk, chunk.byteLength, position)
        position += chunk.byteLength
      }
      if (held.length > 0) {
        const all = Buffer.concat(held)
        await writeAll(file, all, all.length, 0)
      }
      info = pending
    } else {
      info = await parallelToFile(ref, key, download, file, partial, s, signal)
    }
    await file.close()
    file = undefined
    await rename(partial, target)
    return info
  } catch (err) {
    await file?.close().catch(() => undefined)
    await rm(partial, { force: true })
    throw failure(err, signal, where)
  }
}

async function parallelToFile(ref: BucketRef, key: string, d: Download, file: FileHandle, partial: string, s: Settings, outer: AbortSignal): Promise<Partial<DownloadInfo>> {
  const where = { bucket: ref.name, key }
  // The first failure aborts the other ranges in flight (with itself as the reason).
  const { controller, dispose } = linkedController(outer)
  const signal = controller.signal
  try {
    return await parallelAttempt(ref, key, d, file, partial, s, signal, (err) => controller.abort(failure(err, signal, where)))
  } catch (err) {
    throw failure(err, signal, where)
  } finally {
    dispose()
  }
}

async function parallelAttempt(ref: BucketRef, key: string, d: Download, file: FileHandle, partial: string, s: Settings, signal: AbortSignal, abort: (err: unknown) => void): Promise<Partial<DownloadInfo>> {
  const stats: Stats = { resumes: 0 }
  const exp = d.expectation
  // A multipart ETag is checked part by part as each is written (the parts are the ranges); any
  // other whole-object sum needs the bytes in order: the file is read back once complete.
  const partHashes: (Buffer | undefined)[] = []
  const perPart = exp?.algorithm === 'md5-parts' && exp.partSize === s.partSize
  const tasks: (Part | 'first')[] = [...(d.first ? ['first' as const] : []), ...d.rest]
  const offsetOf = (t: Part | 'first') => (t === 'first' ? 0 : t.offset)
  let failed: unknown
  let next = 0
  const failFast = (err: unknown) => {
    if (failed === undefined) {
      failed = err
      abort(err)
    }
  }
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < tasks.length) {
      const index = next++
      const task = tasks[index]!
      try {
        const hasher = perPart ? createHasher('md5') : undefined
        const wrote = await writeChunks(readPart(ref, key, d, task, signal, stats), file, offsetOf(task), hasher)
        const expected = task === 'first' ? d.first!.length : task.end - task.start
        if (wrote !== expected) throw new IntegrityError(`GetObject s3://${ref.name}/${key}: expected ${expected} bytes in a response, got ${wrote}`, { bucket: ref.name, key, algorithm: 'size', expected: String(expected), actual: String(wrote) })
        if (hasher) partHashes[index] = Buffer.from(hasher.digest(), 'hex')
      } catch (err) {
        failFast(err)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(s.concurrency, tasks.length) }, worker))
  if (failed !== undefined) throw failed
  let verified: Verification = s.verify ? 'size' : 'none'
  if (exp) {
    let actual: string
    if (perPart && partHashes.length === tasks.length) {
      actual = `${createHash('md5').update(Buffer.concat(partHashes as Buffer[])).digest('hex')}-${partHashes.length}`
    } else {
      const hasher = hasherFor(exp)
      await file.sync().catch(() => undefined)
      await hashFile(partial, hasher, signal)
      actual = hasher.digest()
    }
    verified = await check(ref, key, exp, actual, s, signal)
  }
  return { verified, size: d.size, resumes: stats.resumes, ...(d.total !== undefined ? { objectSize: d.total } : {}), ...(d.etag ? { etag: d.etag } : {}) }
}

// ---- many objects ------------------------------------------------------------------------------

/** One item for {@link getObjects}: a key, or a key and the local path to write it to. */
export type GetItem = string | { key: string; destination?: string }

/** Options for {@link getObjects}. */
export interface GetObjectsOptions extends StageOptions, ByteRange {
  /**
   * Write each object under this folder, mirroring its key as a path (`a/b.png` ->
   * `dir/a/b.png`). Keys that would land outside it (`../x`, or through a symbolic link inside it
   * that leads elsewhere) fail alone with InvalidArgumentError.
   */
  destination?: string
  /**
   * With `destination`: the folder the paths are relative to (`'logs/'`: `logs/2024/a` ->
   * `destination/2024/a`); `'logs'` means `'logs/'`. A key outside it fails alone.
   */
  relativeTo?: string
  /** Check each download against its checksum, ETag MD5 or length. @default true */
  verify?: boolean
  /** Bytes per ranged GET and the part size multipart ETags are checked with. @default 8388608 */
  partSize?: number
}

/**
 * A stage that downloads each key it receives, `concurrency` at a time: into memory (value is a
 * Buffer) or, with a destination folder or per-item destination, into files (value is the
 * path). Each successful result says how it was checked (`verified`). Memory: at most
 * `concurrency` objects in memory when downloading to Buffers; one stream buffer per download
 * when writing files. The range and options are validated before any request.
 *
 * @example
 * ```ts
 * for await (const r of getObjects(bucket, { destination: 'mirror/' })(bucket.list('cats/'))) {
 *   console.log(r.ok ? `wrote ${r.value} (${r.verified})` : `failed ${r.key}: ${r.error.message}`)
 * }
 * ```
 */
export function getObjects(ref: BucketRef, options: GetObjectsOptions = {}) {
  const range: ByteRange = {}
  for (const name of ['start', 'end', 'offset', 'length'] as const) if (options[name] !== undefined) range[name] = options[name]
  const perItem: GetOptions = { ...range }
  if (options.verify !== undefined) perItem.verify = options.verify
  if (options.partSize !== undefined) perItem.partSize = options.partSize
  return (source: AsyncIterable<GetItem | { key: string }> | Iterable<GetItem>): AsyncGenerator<Result<Buffer | string>> => {
    // Validated before any request: a bad range or option fails the whole call.
    validateGetOptions(perItem, { bucket: ref.name })
    if (options.destination !== undefined && typeof options.destination !== 'string') {
      throw new InvalidArgumentError(`Expected destination to be a folder path, got ${describeValue(options.destination)}`, { argument: 'destination', bucket: ref.name })
    }
    return mapResults(
      source as AsyncIterable<GetItem>,
      keyOfItem,
      async (item, signal, annotate): Promise<Buffer | string> => {
        const key = typeof item === 'string' ? item : (item as { key?: unknown } | null)?.key
        validateKey(key, ref.name)
        const explicit = typeof item === 'string' ? undefined : item.destination
        const opts: GetOptions = { ...perItem, signal, onVerified: (info) => annotate({ verified: info.verified }) }
        if (explicit !== undefined) return getToFile(ref, key, explicit, opts)
        if (options.destination !== undefined) {
          const base = options.relativeTo === undefined || options.relativeTo === '' || options.relativeTo.endsWith('/') ? (options.relativeTo ?? '') : `${options.relativeTo}/`
          if (!key.startsWith(base)) throw new InvalidArgumentError(`Key ${JSON.stringify(key)} is not under relativeTo ${JSON.stringify(base)}`, { argument: 'relativeTo', key, bucket: ref.name })
          const rel = key.slice(base.length)
          // A folder marker (`logs/`): nothing to write, as aws s3 skips it; ok with the folder's path.
          if ((rel === '' || rel.endsWith('/')) && !rel.split('/').includes('..')) {
            annotate({ verified: 'none' })
            return resolvePath(options.destination, rel)
          }
          return getToFile(ref, key, safeDestination(options.destination, rel, ref.name), { ...opts, root: options.destination })
        }
        return getObject(ref, key, opts)
      },
      { concurrency: ref.concurrency ?? 8, ...options, bucket: ref.name },
    )
  }
}

/** The key of a get item, for its result (a bad item's key is its description). */
function keyOfItem(item: GetItem | null | undefined): string {
  if (typeof item === 'string') return item
  if (item !== null && typeof item === 'object' && 'key' in item) return typeof item.key === 'string' ? item.key : describeValue(item.key)
  return describeValue(item)
}
