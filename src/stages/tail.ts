/**
 * `tail -f` for S3: follow an object as it grows, or a prefix of rotating log objects as new
 * ones appear, and turn the bytes into lines.
 *
 * S3 objects are replaced whole, never appended to, so following one means polling: HEAD every
 * `pollMs`; when it grew, a ranged GET of the new bytes only (pinned to the HEAD's ETag, so a
 * replacement in between is noticed and read again). Growth is taken to be an append. When the
 * object shrank, was replaced by one of the same size (new ETag), or was deleted and created
 * again, the tail starts over from byte 0 and says so: a {@link TailReset} marker in the
 * stream (with `markers: true`) and a 'reset' event on the {@link Tail}.
 *
 * Following a prefix (`follow: 'rotation'`, e.g. the objects of `createLogStream`) yields each
 * new object's bytes, whole, in key order (announced by a {@link TailObject} marker / 'object'
 * event); objects that appear with a key before the last one read are not read.
 *
 * Stopping: break out of the loop, or abort `signal`; the iteration then ends without an error
 * and the request in flight is aborted.
 *
 * @example
 * ```ts
 * import { tail } from 'bucketflow'
 * const controller = new AbortController()
 * for await (const line of tail(bucket, 'logs/app.log', { signal: controller.signal }).lines()) {
 *   if (line.includes('FATAL')) controller.abort()
 * }
 * ```
 * @packageDocumentation
 */
import { EventEmitter } from 'node:events'
import { GetObjectCommand, ListObjectsV2Command, type GetObjectCommandInput } from '@aws-sdk/client-s3'
import type { BucketRef } from '../bucket-ref.js'
import { AbortError, InvalidArgumentError, NoSuchKeyError, toBucketflowError, type BucketflowError } from '../errors.js'
import { describeValue, validateInteger, validateKey } from '../validate.js'
import { headObject, type ObjectInfo } from './head.js'

/** Where to start: the current end (default), the first byte, or a byte offset (negative: from the end). */
export type TailFrom = 'end' | 'start' | number

/** Options for {@link tail}. */
export interface TailOptions {
  /**
   * Where to start. For an object: `'end'` (only what is added from now on; the default),
   * `'start'`, or a byte offset (negative counts from the end: `-1000` is the last 1000 bytes).
   * For `follow: 'rotation'`: `'end'` (only objects that appear from now on) or `'start'`
   * (every object under the prefix, oldest first).
   */
  from?: TailFrom
  /** Milliseconds between polls. Default 1000. */
  pollMs?: number
  /** Stop following: the iteration ends (without an error) and the request in flight is aborted. */
  signal?: AbortSignal
  /** Wait for a missing object (or one that is deleted) instead of failing with NoSuchKeyError. Default false. */
  permitMissing?: boolean
  /** `'object'` (default): follow one object as it grows. `'rotation'`: follow new objects under a prefix. */
  follow?: 'object' | 'rotation'
  /** Yield {@link TailMarker}s in the stream, between the Buffers. Default false. */
  markers?: boolean
}

/** The followed object was replaced by different content: what follows starts again at byte 0. */
export interface TailReset {
  readonly marker: 'reset'
  readonly key: string
  /** `shrunk`: smaller than before. `replaced`: same size, new ETag. `recreated`: deleted, then created again. */
  readonly reason: 'shrunk' | 'replaced' | 'recreated'
  /** Size when last seen (before the change). */
  readonly previousSize: number
  /** Size now. */
  readonly size: number
  readonly etag: string
}

/** In `follow: 'rotation'`: the bytes that follow are the object `key`'s. */
export interface TailObject {
  readonly marker: 'object'
  readonly key: string
  readonly size: number
  readonly etag: string
}

/** What `markers: true` adds to the stream. Tell it from a Buffer with {@link isTailMarker}. */
export type TailMarker = TailReset | TailObject

/**
 * True for a {@link TailMarker} (false for a Buffer or string chunk).
 *
 * @example
 * ```ts
 * for await (const item of bucket.tail('app.log', { markers: true })) {
 *   if (isTailMarker(item)) console.warn(`app.log ${item.marker}`)
 *   else process.stdout.write(item)
 * }
 * ```
 */
export function isTailMarker(value: unknown): value is TailMarker {
  return value !== null && typeof value === 'object' && !(value instanceof Uint8Array) && 'marker' in value
}

/**
 * A followed object or prefix: an `AsyncIterable` of Buffers (and, with `markers: true`, of
 * {@link TailMarker}s) that is also an EventEmitter: 'reset' ({@link TailReset}) and 'object'
 * ({@link TailObject}) are emitted just before the bytes they announce are yielded. Each
 * `for await` over it starts its own polling.
 *
 * @example
 * ```ts
 * const t = bucket.tail('metrics.csv', { from: 'start', pollMs: 500 })
 * t.on('reset', (r) => console.warn(`metrics.csv was ${r.reason}; reading it again`))
 * for await (const chunk of t) process.stdout.write(chunk)
 * ```
 */
export class Tail<T extends Buffer | TailMarker = Buffer> extends EventEmitter implements AsyncIterable<T> {
  readonly #source: (tail: Tail<T>) => AsyncGenerator<T>

  /** Use {@link tail}. */
  constructor(source: (tail: Tail<T>) => AsyncGenerator<T>) {
    super()
    this.#source = source
  }

  [Symbol.asyncIterator](): AsyncGenerator<T> {
    return this.#source(this)
  }

  /** The followed bytes as lines (see {@link lines}). */
  lines(): AsyncGenerator<string | Exclude<T, Buffer>> {
    return lines(this as AsyncIterable<Buffer | TailMarker>) as AsyncGenerator<string | Exclude<T, Buffer>>
  }
}

export interface Tail<T extends Buffer | TailMarker = Buffer> {
  on(event: 'reset', listener: (reset: TailReset) => void): this
  on(event: 'object', listener: (object: TailObject) => void): this
  once(event: 'reset', listener: (reset: TailReset) => void): this
  once(event: 'object', listener: (object: TailObject) => void): this
}

function validateOptions(ref: BucketRef, target: string, opts: TailOptions): Required<Pick<TailOptions, 'from' | 'pollMs' | 'follow'>> {
  const follow = opts.follow ?? 'object'
  const from = opts.from ?? 'end'
  const pollMs = opts.pollMs ?? 1000
  const where = { bucket: ref.name }
  if (follow !== 'object' && follow !== 'rotation') {
    throw new InvalidArgumentError(`Expected follow to be 'object' or 'rotation', got ${describeValue(follow)}`, { ...where, argument: 'follow' })
  }
  if (follow === 'object') validateKey(target, ref.name)
  else if (typeof target !== 'string') {
    throw new InvalidArgumentError(`Expected prefix to be a string, got ${describeValue(target)}`, { ...where, argument: 'prefix' })
  }
  const validFrom = from === 'end' || from === 'start' || (follow === 'object' && Number.isSafeInteger(from))
  if (!validFrom) {
    const expected = follow === 'object' ? "'end', 'start' or an integer byte offset" : "'end' or 'start'"
    throw new InvalidArgumentError(`Expected from to be ${expected}, got ${describeValue(from)}`, { ...where, argument: 'from' })
  }
  try {
    validateInteger(pollMs, 'pollMs', 1, 2 ** 31 - 1)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message, { ...where, argument: 'pollMs' })
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`Expected signal to be an AbortSignal, got ${describeValue(opts.signal)}`, { ...where, argument: 'signal' })
  }
  return { follow, from, pollMs }
}

/** Resolves after `ms`, or at once (false) when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false)
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

class Stop extends Error {}

/** Run the follow loop with an internal controller linked to the user's signal. */
function following<T extends Buffer | TailMarker>(
  signal: AbortSignal | undefined,
  body: (inner: AbortSignal, tail: Tail<T>) => AsyncGenerator<T>,
): (tail: Tail<T>) => AsyncGenerator<T> {
  return async function* (tail) {
    const controller = new AbortController()
    const onAbort = () => controller.abort(signal?.reason)
    if (signal?.aborted) return
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      yield* body(controller.signal, tail)
    } catch (err) {
      if (err instanceof Stop || controller.signal.aborted) return
      throw err
    } finally {
      signal?.removeEventListener('abort', onAbort)
      controller.abort(new AbortError('The tail was stopped'))
    }
  }
}

/** Send the GET; resolves once the response has arrived, to its body's chunks. */
async function openRange(ref: BucketRef, key: string, input: Partial<GetObjectCommandInput>, signal: AbortSignal): Promise<AsyncGenerator<Buffer>> {
  let out
  try {
    out = await ref.client.send(new GetObjectCommand({ Bucket: ref.name, Key: key, ...input }), { abortSignal: signal })
  } catch (err) {
    if (signal.aborted) throw new Stop()
    throw toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' })
  }
  const body = (out.Body ?? []) as AsyncIterable<Uint8Array>
  return (async function* () {
    try {
      for await (const chunk of body) {
        yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      }
    } catch (err) {
      if (signal.aborted) throw new Stop()
      throw toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' })
    }
  })()
}

async function headOrMissing(ref: BucketRef, key: string, signal: AbortSignal): Promise<ObjectInfo | undefined> {
  try {
    return await headObject(ref, key, { signal })
  } catch (err) {
    if (signal.aborted) throw new Stop()
    if (err instanceof NoSuchKeyError) return undefined
    throw err
  }
}

function followObject(ref: BucketRef, key: string, opts: TailOptions, from: TailFrom, pollMs: number) {
  const markers = opts.markers ?? false
  return following<Buffer | TailMarker>(opts.signal, async function* (signal, emitter) {
    const missing = () =>
      new NoSuchKeyError(`No such key: s3://${ref.name}/${key} (pass permitMissing: true to wait for it)`, { bucket: ref.name, key })
    let info = await headOrMissing(ref, key, signal)
    if (!info && !opts.permitMissing) throw missing()
    /** Size and ETag when last seen (undefined until the object was first seen). */
    let seen: { size: number; etag: string } | undefined
    /** The object was seen, then found missing. */
    let gone = false
    let offset = 0
    if (info) {
      offset = from === 'start' ? 0 : from === 'end' ? info.size : from < 0 ? Math.max(0, info.size + from) : from
      seen = { size: info.size, etag: info.etag }
    } else {
      // Everything in an object that does not exist yet is new.
      offset = typeof from === 'number' && from > 0 ? from : 0
    }
    let lookNow = true
    for (;;) {
      if (!lookNow) {
        if (!(await pause(pollMs, signal))) return
        info = await headOrMissing(ref, key, signal)
      }
      lookNow = false
      if (!info) {
        if (!opts.permitMissing) throw missing()
        if (seen) gone = true
        continue
      }
      let reason: TailReset['reason'] | undefined
      if (seen && gone) reason = 'recreated'
      else if (seen && info.size < seen.size) reason = 'shrunk'
      else if (seen && info.size === seen.size && info.etag !== seen.etag) reason = 'replaced'
      if (reason && seen) {
        const reset: TailReset = { marker: 'reset', key, reason, previousSize: seen.size, size: info.size, etag: info.etag }
        offset = 0
        emitter.emit('reset', reset)
        if (markers) yield reset
      }
      gone = false
      seen = { size: info.size, etag: info.etag }
      if (info.size <= offset) continue
      const range = { Range: `bytes=${offset}-${info.size - 1}`, ...(info.etag ? { IfMatch: info.etag } : {}) }
      let body: AsyncGenerator<Buffer>
      try {
        body = await openRange(ref, key, range, signal)
      } catch (err) {
        // Replaced (or deleted) between the HEAD and the GET: look again at once.
        if ((err as BucketflowError).statusCode !== 412 && !(err instanceof NoSuchKeyError)) throw err
        info = await headOrMissing(ref, key, signal)
        lookNow = true
        continue
      }
      for await (const chunk of body) {
        offset += chunk.length
        yield chunk
      }
    }
  })
}

async function listAfter(ref: BucketRef, prefix: string, after: string | undefined, signal: AbortSignal): Promise<{ key: string; size: number; etag: string }[]> {
  const out: { key: string; size: number; etag: string }[] = []
  let token: string | undefined
  do {
    let page
    try {
      page = await ref.client.send(
        new ListObjectsV2Command({
          Bucket: ref.name,
          ...(prefix ? { Prefix: prefix } : {}),
          ...(after !== undefined && token === undefined ? { StartAfter: after } : {}),
          ...(token ? { ContinuationToken: token } : {}),
        }),
        { abortSignal: signal },
      )
    } catch (err) {
      if (signal.aborted) throw new Stop()
      throw toBucketflowError(err, { bucket: ref.name, operation: 'ListObjectsV2' })
    }
    for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '' })
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return out
}

function followRotation(ref: BucketRef, prefix: string, opts: TailOptions, from: TailFrom, pollMs: number) {
  const markers = opts.markers ?? false
  return following<Buffer | TailMarker>(opts.signal, async function* (signal, emitter) {
    let after: string | undefined
    if (from === 'end') {
      // Skip what is there now: start after the last key (listing the prefix once).
      const existing = await listAfter(ref, prefix, undefined, signal)
      after = existing.at(-1)?.key
    }
    for (let first = true; ; first = false) {
      if (!first && !(await pause(pollMs, signal))) return
      for (const object of await listAfter(ref, prefix, after, signal)) {
        let body: AsyncGenerator<Buffer>
        try {
          body = await openRange(ref, object.key, {}, signal)
        } catch (err) {
          // Deleted since the listing (e.g. by a lifecycle rule): nothing to read.
          if (!(err instanceof NoSuchKeyError)) throw err
          after = object.key
          continue
        }
        const marker: TailObject = { marker: 'object', key: object.key, size: object.size, etag: object.etag }
        emitter.emit('object', marker)
        if (markers) yield marker
        yield* body
        after = object.key
      }
    }
  })
}

/**
 * Follow an object as it grows (`tail -f`), or, with `follow: 'rotation'`, the new objects
 * under a prefix. Returns a {@link Tail}: iterate it for Buffers (plus {@link TailMarker}s with
 * `markers: true`), listen for 'reset' / 'object', or call `.lines()`. Stops when the loop
 * breaks or `signal` aborts. Memory: one response chunk at a time (and, for a prefix, one
 * listing).
 *
 * @example
 * ```ts
 * // the bytes appended to an object from now on
 * for await (const chunk of tail(bucket, 'job/output.txt', { pollMs: 500 })) process.stdout.write(chunk)
 * // every line of a rotating log, from its first object
 * for await (const line of tail(bucket, 'logs/app/', { follow: 'rotation', from: 'start' }).lines()) console.log(line)
 * ```
 */
export function tail(ref: BucketRef, keyOrPrefix: string, opts?: TailOptions & { markers?: false }): Tail<Buffer>
export function tail(ref: BucketRef, keyOrPrefix: string, opts: TailOptions & { markers: true }): Tail<Buffer | TailMarker>
export function tail(ref: BucketRef, keyOrPrefix: string, opts?: TailOptions): Tail<Buffer> | Tail<Buffer | TailMarker>
export function tail(ref: BucketRef, keyOrPrefix: string, opts: TailOptions = {}): Tail<Buffer> | Tail<Buffer | TailMarker> {
  const { follow, from, pollMs } = validateOptions(ref, keyOrPrefix, opts)
  const source = follow === 'rotation' ? followRotation(ref, keyOrPrefix, opts, from, pollMs) : followObject(ref, keyOrPrefix, opts, from, pollMs)
  return new Tail<Buffer | TailMarker>(source)
}

/**
 * Turn chunks (Buffers, Uint8Arrays or strings) into lines: split at '\n' (a trailing '\r' is
 * removed too), UTF-8 decoded, without the line ending. A line split across chunks (even inside
 * a multi-byte character) comes out whole; a last line without a newline comes out at the end.
 * {@link TailMarker}s pass through: a reset drops the partial line it interrupted (the content
 * starts over), a new object ends the partial line before it.
 * Memory: one partial line.
 *
 * @example
 * ```ts
 * for await (const line of lines(bucket.stream('data.ndjson'))) console.log(JSON.parse(line))
 * ```
 */
export function lines(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<string>
export function lines(source: AsyncIterable<Uint8Array | string | TailMarker>): AsyncGenerator<string | TailMarker>
export async function* lines(source: AsyncIterable<Uint8Array | string | TailMarker>): AsyncGenerator<string | TailMarker> {
  let carry: Buffer[] = []
  const text = (bytes: Buffer) => {
    const s = bytes.toString('utf8')
    return s.endsWith('\r') ? s.slice(0, -1) : s
  }
  for await (const item of source) {
    if (isTailMarker(item)) {
      if (item.marker === 'object' && carry.length > 0) yield text(Buffer.concat(carry))
      carry = []
      yield item
      continue
    }
    const buf = typeof item === 'string' ? Buffer.from(item, 'utf8') : Buffer.from(item.buffer, item.byteOffset, item.byteLength)
    let start = 0
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      const piece = buf.subarray(start, nl)
      yield text(carry.length > 0 ? Buffer.concat([...carry, piece]) : piece)
      carry = []
      start = nl + 1
    }
    if (start < buf.length) carry.push(Buffer.from(buf.subarray(start)))
  }
  if (carry.length > 0) yield text(Buffer.concat(carry))
}
