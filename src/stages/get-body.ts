/**
 * The response side of a download: what one GET answer holds (Content-Range), what pins later
 * requests to the same object (ETag, else VersionId or Last-Modified), and `readSpan`, which
 * reads a span of the object from an answer's body and resumes a body that breaks (reset,
 * truncation, or no byte for the client's idle timeout) with ranged GETs pinned to the object.
 * @packageDocumentation
 */
import { delay } from '../util/abort.js'
import { halfJitter } from '../util/retry.js'
import { Readable } from 'node:stream'
import { transportOf, type BucketRef } from '../bucket-ref.js'
import { clientSettings } from '../client.js'
import { BucketflowError, IntegrityError, TimeoutError, isTransient, toBucketflowError } from '../errors.js'
import type { Where } from '../ranges.js'
import type { GetObjectInput, GetObjectOutput } from '../transport/types.js'

/** What a stage passes to a GET besides the bucket and key. */
export type GetInput = Partial<Omit<GetObjectInput, 'Bucket' | 'Key'>>

/** What pins later requests of a download to the object its first answer came from. */
export interface Pin {
  etag?: string
  versionId?: string
  lastModified?: Date
}

export function pinInput(pin: Pin): GetInput {
  if (pin.etag) return { IfMatch: pin.etag }
  if (pin.versionId) return { VersionId: pin.versionId }
  if (pin.lastModified) return { IfUnmodifiedSince: pin.lastModified }
  return {}
}

export const hasPin = (pin: Pin) => Boolean(pin.etag || pin.versionId || pin.lastModified)

/** One answer to a GET: which bytes of the object its body holds. */
export interface Answer {
  body: unknown
  /** Absolute position of the body's first byte. */
  start: number
  /** Absolute end (exclusive) of the body. */
  end: number
  /** The object's size, when the answer says. */
  total: number | undefined
  /** A 200: the whole object. */
  whole: boolean
  out: GetObjectOutput
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/

export function answerOf(out: GetObjectOutput, where: Where): Answer {
  if (out.ContentRange === undefined) {
    const length = out.ContentLength ?? 0
    return { body: out.Body, start: 0, end: length, total: length, whole: true, out }
  }
  const m = CONTENT_RANGE.exec(out.ContentRange)
  if (!m) {
    discard(out.Body)
    throw new IntegrityError(`GetObject s3://${where.bucket}/${where.key} answered an unreadable Content-Range ${out.ContentRange}`, where)
  }
  const start = Number(m[1])
  const end = Number(m[2]) + 1
  return { body: out.Body, start, end, total: m[3] === '*' ? undefined : Number(m[3]), whole: false, out }
}

export function pinOf(out: GetObjectOutput): Pin {
  const pin: Pin = {}
  if (out.ETag) pin.etag = out.ETag
  if (out.VersionId && out.VersionId !== 'null') pin.versionId = out.VersionId
  if (out.LastModified) pin.lastModified = out.LastModified
  return pin
}

/**
 * Send one GET through the bucket's transport. With `checksums`, the stored checksums are asked
 * for (`x-amz-checksum-mode`); bucketflow checks them itself, the transport does not.
 */
export async function send(ref: BucketRef, key: string, input: GetInput, signal: AbortSignal, checksums = false): Promise<GetObjectOutput> {
  try {
    return await transportOf(ref).getObject({ ...input, Bucket: ref.name, Key: key, ...(checksums ? { ChecksumMode: 'ENABLED' as const } : {}) }, { signal })
  } catch (err) {
    const typed = toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' }, signal)
    if (typed.statusCode === 412 && (input.IfMatch !== undefined || input.IfUnmodifiedSince !== undefined)) {
      throw new IntegrityError(
        `s3://${ref.name}/${key} changed during the download (it no longer matches ${input.IfMatch ?? `its Last-Modified ${input.IfUnmodifiedSince?.toISOString()}`})`,
        {
          bucket: ref.name,
          key,
          statusCode: 412,
          algorithm: 'etag',
          ...(input.IfMatch ? { expected: input.IfMatch } : {}),
          cause: err,
        },
      )
    }
    throw typed
  }
}

export function discard(body: unknown): void {
  const b = body as { destroy?: () => void } | undefined
  if (b && typeof b.destroy === 'function') b.destroy()
}

/** Backoff before resuming a broken body: 50-100 ms, doubling up to 2 s. */
export function backoff(attempt: number): number {
  return halfJitter(attempt, 100, 2_000)
}

/** Counters a download reports. */
export interface Stats {
  resumes: number
}

/**
 * Read `[from, until)` of the object starting with the body of `answer` (which must start at or
 * before `from`), resuming a broken body with ranged GETs pinned by `pin`. Each wait for the
 * next chunk is bounded by the client's idle timeout. Yields the bytes in order, exactly.
 */
export async function* readSpan(
  ref: BucketRef,
  key: string,
  answer: Answer,
  from: number,
  until: number,
  pin: Pin,
  signal: AbortSignal,
  stats: Stats,
): AsyncGenerator<Uint8Array> {
  const where = { bucket: ref.name, key }
  const { idleTimeout, maxAttempts } = clientSettings(ref.client)
  type Body = AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => void }
  let body: Body | undefined = (answer.body ?? Readable.from([])) as Body
  /** Absolute position of the next byte the current body delivers, and its end. */
  let pos = answer.start
  let bodyEnd = answer.end
  /** Absolute position of the next byte wanted. */
  let at = from
  let failures = 0
  let progressAtFailure = -1
  while (at < until) {
    let waiting = false
    let current: Body | undefined
    const timer = setTimeout(() => {
      if (waiting) current?.destroy?.(new TimeoutError(`GetObject s3://${ref.name}/${key}: no data for ${idleTimeout} ms`, where))
    }, idleTimeout)
    try {
      if (body === undefined) {
        // Resume from the first byte not yet received, pinned to the same object.
        stats.resumes++
        const out = await send(ref, key, { Range: `bytes=${at}-${until - 1}`, ...pinInput(pin) }, signal)
        const next = answerOf(out, where)
        if (next.start > at || next.end < Math.min(until, next.total ?? until)) {
          discard(next.body)
          throw new IntegrityError(`GetObject s3://${ref.name}/${key} answered ${out.ContentRange ?? 'the whole object'} to a resume at byte ${at}`, where)
        }
        body = (next.body ?? Readable.from([])) as Body
        pos = next.start
        bodyEnd = next.end
      }
      current = body
      const iterator = current[Symbol.asyncIterator]()
      for (;;) {
        waiting = true
        timer.refresh()
        const next = await iterator.next()
        waiting = false
        if (next.done) break
        const chunk = next.value
        const chunkStart = pos
        pos += chunk.byteLength
        if (pos <= at) continue
        let piece = chunkStart < at ? chunk.subarray(at - chunkStart) : chunk
        if (at + piece.byteLength > until) piece = piece.subarray(0, until - at)
        at += piece.byteLength
        yield piece
        if (at >= until) break
      }
      if (at >= until) {
        // Done: anything the body still holds is not needed.
        if (pos < bodyEnd) current.destroy?.()
        return
      }
      throw new BucketflowError(`GetObject s3://${ref.name}/${key}: the body ended after ${at} of ${until} bytes`, where, 'IncompleteBody')
    } catch (err) {
      current?.destroy?.()
      body = undefined
      if (signal.aborted) throw toBucketflowError(err, { ...where, operation: 'GetObject' }, signal)
      const typed = toBucketflowError(err, { ...where, operation: 'GetObject' })
      if (!(typed.code === 'IncompleteBody' || isTransient(typed))) throw typed
      failures = at > progressAtFailure ? 1 : failures + 1
      progressAtFailure = at
      if (!hasPin(pin)) throw new BucketflowError(`${typed.message} (nothing to pin a resumed request to)`, { ...where, cause: typed }, typed.code)
      if (failures > maxAttempts) throw typed
      await delay(backoff(failures), signal).catch(() => {
        throw toBucketflowError(err, { ...where, operation: 'GetObject' }, signal)
      })
    } finally {
      clearTimeout(timer)
    }
  }
}
