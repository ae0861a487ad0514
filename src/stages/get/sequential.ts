/**
 * Sequential downloads: one GET (resumed as needed), its bytes yielded in order and verified.
 */
import type { BucketRef } from '../../bucket-ref.js'
import { plainMd5, type Expectation, type Verification } from '../../checksums.js'
import { IntegrityError, InvalidRangeError } from '../../errors.js'
import { bounds, emptyWhateverSize, rangeHeader } from '../../ranges.js'
import type { GetObjectOutput } from '../../transport/types.js'
import { answerOf, discard, pinOf, readSpan, send, type Answer, type Pin, type Stats } from '../get-body.js'
import { headObject } from '../head.js'
import { READ_PAST_FOR_VERIFY, type DownloadInfo, type Settings } from './options.js'
import { check, expectationOf, UnconfirmedLayoutError, Verifier } from './verify.js'
// ---- sequential downloads (one GET, resumed as needed) ------------------------------------------

/** The first answer of a download and what to do with it. */
export interface Opened {
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
export async function openSequential(ref: BucketRef, key: string, s: Settings, signal: AbortSignal): Promise<Opened> {
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
    throw new IntegrityError(
      `GetObject s3://${ref.name}/${key} answered ${out.ContentRange ?? 'the whole object'}, which does not hold bytes ${want[0]}-${want[1]}`,
      where,
    )
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
export async function* sequential(
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
    report({
      verified: s.verify ? 'size' : 'none',
      size: 0,
      ...(o.total !== undefined ? { objectSize: o.total } : {}),
      ...(o.etag ? { etag: o.etag } : {}),
      resumes: 0,
    })
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

/**
 * For a stream, whose bytes are already handed over: settle an unconfirmed multipart mismatch
 * by downloading the object again (discarding the bytes). Two downloads that agree mean the
 * part layout was guessed wrong and the bytes are right (`size`); a second download that
 * matches the ETag means the first was corrupt (IntegrityError).
 */
export async function settle(ref: BucketRef, key: string, s: Settings, signal: AbortSignal, run: () => Promise<Verification>): Promise<Verification> {
  try {
    return await run()
  } catch (err) {
    if (!(err instanceof UnconfirmedLayoutError) || err.actual === undefined) throw err
    let second: Verification | undefined
    for await (const _ of sequential(ref, key, { ...s, slice: undefined, acceptDigest: err.actual }, signal, (i) => (second = i.verified))) void _
    if (second === 'size') return 'size'
    throw new IntegrityError(
      `s3://${ref.name}/${key} arrived corrupted: a second download matches its ETag ${err.expected}, the bytes delivered did not (${err.actual})`,
      {
        bucket: ref.name,
        key,
        algorithm: 'md5-parts',
        ...(err.expected !== undefined ? { expected: err.expected } : {}),
        actual: err.actual,
      },
    )
  }
}
