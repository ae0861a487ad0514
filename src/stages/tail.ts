/**
 * `tail -f` for S3: follow an object as it grows, or a prefix of rotating log objects as new
 * ones appear, and turn the bytes into lines.
 *
 * S3 objects are replaced whole, never appended to, so following one means polling: every
 * `pollMs` one ranged GET from the last byte read (`Range: bytes=<offset-1>-`, with
 * `If-None-Match: <ETag>`), no HEAD: 304 means nothing changed; a 206 whose first byte is the
 * last byte read and that goes further brings the appended bytes (growth is taken to be an
 * append); 416 means the object is now shorter than what was read. When the object shrank, was
 * replaced by different content (same size with a new ETag, or the byte before the read
 * position changed), or was deleted and created again, the tail starts over from byte 0 and
 * says so: a {@link TailReset} marker in the stream (with `markers: true`) and a 'reset' event
 * on the {@link Tail}. One request per poll in the steady state (the byte of overlap is what
 * lets a same-size replacement be seen without a HEAD, also on servers that ignore
 * If-None-Match).
 *
 * Following a prefix (`follow: 'rotation'`, e.g. the objects of `createLogStream`) yields each
 * new object's bytes, whole, in key order (announced by a {@link TailObject} marker / 'object'
 * event), across partitions (`dt=.../`) too; objects that appear with a key before the last one
 * read are not read.
 *
 * Compressed objects (gzip or zstd, by `Content-Encoding` or a `.gz` / `.zst` key) are
 * decompressed (`decompress: false` yields the stored bytes). A compressed object followed with
 * `follow: 'object'` can only be read from its first byte (`from: 'start'`).
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
import type { Transform } from 'node:stream'
import { transportOf, type BucketRef } from '../bucket-ref.js'
import { AbortError, IntegrityError, InvalidArgumentError, NoSuchKeyError, toBucketflowError } from '../errors.js'
import { compressionOf, createDecompressor, sniffCompression, type LogCompression } from '../sinks/compression.js'
import { describeValue, validateInteger, validateKey } from '../validate.js'
import type { GetInput } from './get-body.js'

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
  /** Decompress gzip and zstd objects (by `Content-Encoding` or key suffix). Default true. */
  decompress?: boolean
}

/** The followed object was replaced by different content: what follows starts again at byte 0. */
export interface TailReset {
  readonly marker: 'reset'
  readonly key: string
  /**
   * `shrunk`: smaller than what was read. `replaced`: different content (same size with a new
   * ETag, or the byte before the read position changed). `recreated`: deleted, then created again.
   */
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
  if (opts.decompress !== undefined && typeof opts.decompress !== 'boolean') {
    throw new InvalidArgumentError(`Expected decompress to be a boolean, got ${describeValue(opts.decompress)}`, { ...where, argument: 'decompress' })
  }
  const decompress = opts.decompress ?? true
  if (follow === 'object' && decompress && from !== 'start' && from !== 0 && compressionOf(target) !== 'none') {
    throw new InvalidArgumentError(
      `${target} is compressed: a tail can only decompress it from its first byte (from: 'start'), or pass decompress: false`,
      { ...where, key: target, argument: 'from' },
    )
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

/** A GET's answer: the body (and what the headers say), or why there is none. */
type Answer =
  | { status: 'ok'; body: AsyncGenerator<Buffer>; etag: string; size: number; start: number; encoding: string | undefined }
  | { status: 'not-modified' }
  | { status: 'unsatisfiable' }
  | { status: 'missing' }

/** `bytes 3-9/10` -> start 3, size 10. */
function parseContentRange(value: string | undefined): { start: number; size: number } | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+)$/.exec(value?.trim() ?? '')
  return m ? { start: Number(m[1]), size: Number(m[2]) } : undefined
}

/** Send the GET; resolves once the response has arrived. 304, 416 and 404 are answers, not errors. */
async function getObject(ref: BucketRef, key: string, input: GetInput, signal: AbortSignal): Promise<Answer> {
  let out
  try {
    out = await transportOf(ref).getObject({ ...input, Bucket: ref.name, Key: key }, { signal })
  } catch (err) {
    if (signal.aborted) throw new Stop()
    const typed = toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' })
    if (typed.statusCode === 304) return { status: 'not-modified' }
    if (typed.statusCode === 416) return { status: 'unsatisfiable' }
    if (typed instanceof NoSuchKeyError) return { status: 'missing' }
    throw typed
  }
  const range = parseContentRange(out.ContentRange)
  const stream = (out.Body ?? []) as AsyncIterable<Uint8Array>
  const body = (async function* () {
    try {
      for await (const chunk of stream) {
        yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      }
    } catch (err) {
      if (signal.aborted) throw new Stop()
      throw toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' })
    }
  })()
  return {
    status: 'ok',
    body,
    etag: out.ETag ?? '',
    size: range?.size ?? out.ContentLength ?? 0,
    start: range?.start ?? 0,
    encoding: out.ContentEncoding,
  }
}

/**
 * A decompressor fed chunk by chunk across polls: each `write` resolves to the output that
 * chunk produced. Memory: the codec's window.
 */
class ChunkDecoder {
  readonly #t: Transform
  readonly #where: string
  #out: Buffer[] = []
  #error: Error | undefined

  constructor(kind: Exclude<LogCompression, 'none'>, where: string) {
    this.#where = where
    this.#t = createDecompressor(kind)
    this.#t.on('data', (b: Buffer) => this.#out.push(b))
    this.#t.on('error', (err: Error) => {
      this.#error ??= err
    })
  }

  #take(): Buffer[] {
    if (this.#error) throw new IntegrityError(`${this.#where} cannot be decompressed: ${this.#error.message}`, { cause: this.#error })
    const out = this.#out
    this.#out = []
    return out
  }

  async write(chunk: Buffer): Promise<Buffer[]> {
    await new Promise<void>((resolve) => this.#t.write(chunk, () => resolve()))
    return this.#take()
  }

  async end(): Promise<Buffer[]> {
    await new Promise<void>((resolve) => {
      this.#t.once('end', resolve)
      this.#t.once('error', () => resolve())
      this.#t.end()
    })
    return this.#take()
  }

  destroy(): void {
    this.#t.destroy()
  }
}

/**
 * One object's bytes from `start` (default 0), decompressed when it is gzip or zstd (by its
 * `Content-Encoding` or key suffix) and `decompress` is not false. For `bucketflow tail`
 * without -f. Memory: one response chunk (and a decompressor's window).
 */
export async function* readObjectText(ref: BucketRef, key: string, opts: { start?: number; decompress?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<Buffer> {
  const controller = new AbortController()
  const onAbort = () => controller.abort(opts.signal?.reason)
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const start = opts.start ?? 0
    const range = start > 0 ? `bytes=${start}-` : start < 0 ? `bytes=${start}` : undefined
    let answer: Answer
    try {
      answer = await getObject(ref, key, range ? { Range: range } : {}, controller.signal)
    } catch (err) {
      if (err instanceof Stop) return
      throw err
    }
    if (answer.status === 'missing') throw new NoSuchKeyError(`No such key: s3://${ref.name}/${key}`, { bucket: ref.name, key })
    if (answer.status !== 'ok') return
    const kind = opts.decompress === false ? 'none' : compressionOf(key, answer.encoding)
    if (kind === 'none') {
      yield* answer.body
      return
    }
    if (range !== undefined) {
      throw new InvalidArgumentError(`s3://${ref.name}/${key} is compressed: it can only be decompressed from its first byte`, { bucket: ref.name, key, argument: 'from' })
    }
    const decoder = new ChunkDecoder(kind, `s3://${ref.name}/${key}`)
    try {
      for await (const chunk of answer.body) yield* await decoder.write(chunk)
      yield* await decoder.end()
    } finally {
      decoder.destroy()
    }
  } catch (err) {
    if (err instanceof Stop) return
    throw err
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
    controller.abort()
  }
}

function followObject(ref: BucketRef, key: string, opts: TailOptions, from: TailFrom, pollMs: number) {
  const markers = opts.markers ?? false
  const decompress = opts.decompress ?? true
  const where = `s3://${ref.name}/${key}`
  return following<Buffer | TailMarker>(opts.signal, async function* (signal, emitter) {
    const missing = () => new NoSuchKeyError(`No such key: ${where} (pass permitMissing: true to wait for it)`, { bucket: ref.name, key })
    /** Raw bytes of the current version read (or skipped) so far. */
    let offset = 0
    /** The current version when last seen: its ETag, size, and the byte at offset - 1. */
    let seen: { etag: string; size: number; last: number | undefined } | undefined
    /** The object was seen, then found missing. */
    let gone = false
    let decoder: ChunkDecoder | undefined

    /** Start decoding a version of the object read from its first byte, if it is compressed. */
    const startVersion = (encoding: string | undefined) => {
      decoder?.destroy()
      decoder = undefined
      const kind = decompress ? compressionOf(key, encoding) : 'none'
      if (kind !== 'none') decoder = new ChunkDecoder(kind, where)
    }
    const refuseCompressed = (encoding: string | undefined) => {
      if (decompress && compressionOf(key, encoding) !== 'none') {
        throw new InvalidArgumentError(`${where} is compressed: a tail can only decompress it from its first byte (from: 'start'), or pass decompress: false`, {
          bucket: ref.name,
          key,
          argument: 'from',
        })
      }
    }
    /** Yield a body's bytes from `skip` on (decoded when compressed), keeping offset and the last byte. */
    async function* deliver(answer: Extract<Answer, { status: 'ok' }>, skip: number): AsyncGenerator<Buffer> {
      let toSkip = skip
      let last = seen?.last
      for await (const raw of answer.body) {
        if (raw.length > 0) last = raw[raw.length - 1]
        let chunk = raw
        if (toSkip > 0) {
          const n = Math.min(toSkip, chunk.length)
          toSkip -= n
          chunk = chunk.subarray(n)
        }
        if (chunk.length === 0) continue
        offset += chunk.length
        if (decoder) for (const out of await decoder.write(chunk)) yield out
        else yield chunk
      }
      seen = { etag: answer.etag, size: answer.size, last }
    }
    /** Read the object again from byte 0, announcing why. */
    async function* restart(reason: TailReset['reason']): AsyncGenerator<Buffer | TailMarker> {
      const previousSize = seen?.size ?? 0
      const answer = await getObject(ref, key, {}, signal)
      if (answer.status === 'missing') {
        if (!opts.permitMissing) throw missing()
        gone = true
        return
      }
      if (answer.status !== 'ok') return
      const reset: TailReset = { marker: 'reset', key, reason, previousSize, size: answer.size, etag: answer.etag }
      offset = 0
      gone = false
      seen = undefined
      startVersion(answer.encoding)
      emitter.emit('reset', reset)
      if (markers) yield reset
      yield* deliver(answer, 0)
    }

    // Where to start: no request for 'start' or an offset; one GET of the last byte(s) otherwise.
    if (from === 'end' || (typeof from === 'number' && from < 0)) {
      const n = from === 'end' ? 0 : -from
      const answer = await getObject(ref, key, { Range: `bytes=-${n + 1}` }, signal)
      if (answer.status === 'missing' && !opts.permitMissing) throw missing()
      if (answer.status === 'ok') {
        refuseCompressed(answer.encoding)
        const want = Math.max(0, answer.size - n)
        offset = answer.start
        yield* deliver(answer, want - answer.start)
        // Only the bytes from `want` on were wanted: what came before it was skipped, not read.
        offset = answer.size
      }
    } else if (typeof from === 'number' && from > 0) {
      offset = from
    }

    for (let first = true; ; first = false) {
      if (!first && !(await pause(pollMs, signal))) return
      const whole = gone || offset === 0
      const input: GetInput = whole ? {} : { Range: `bytes=${offset - 1}-` }
      if (seen && !gone) input.IfNoneMatch = seen.etag
      const answer = await getObject(ref, key, input, signal)
      if (answer.status === 'not-modified') continue
      if (answer.status === 'missing') {
        if (!opts.permitMissing) throw missing()
        if (seen) gone = true
        continue
      }
      if (answer.status === 'unsatisfiable') {
        // Shorter than what was read (an empty object at offset 0 is just empty).
        if (seen && offset > 0) yield* restart('shrunk')
        continue
      }
      if (whole) {
        if (gone && seen) {
          const reset: TailReset = { marker: 'reset', key, reason: 'recreated', previousSize: seen.size, size: answer.size, etag: answer.etag }
          gone = false
          offset = 0
          seen = undefined
          startVersion(answer.encoding)
          emitter.emit('reset', reset)
          if (markers) yield reset
        } else if (offset === 0 && !decoder) startVersion(answer.encoding)
        gone = false
        yield* deliver(answer, 0)
        continue
      }
      // A range from the last byte read: check that byte, then what follows is new.
      if (!seen) refuseCompressed(answer.encoding)
      const iterator = answer.body[Symbol.asyncIterator]()
      let head = await iterator.next()
      while (!head.done && head.value.length === 0) head = await iterator.next()
      const firstByte = head.done ? undefined : head.value[0]
      const changed = seen !== undefined && seen.last !== undefined && firstByte !== seen.last
      if (changed || (seen !== undefined && answer.size === offset && answer.etag !== seen.etag)) {
        await iterator.return(undefined)
        yield* restart(answer.size < (seen?.size ?? 0) ? 'shrunk' : 'replaced')
        continue
      }
      const rest = (async function* () {
        if (!head.done) yield head.value
        for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value
      })()
      yield* deliver({ ...answer, body: rest }, 1)
    }
  })
}

async function listAfter(ref: BucketRef, prefix: string, after: string | undefined, signal: AbortSignal): Promise<{ key: string; size: number; etag: string }[]> {
  const out: { key: string; size: number; etag: string }[] = []
  let token: string | undefined
  do {
    let page
    try {
      page = await transportOf(ref).listObjectsV2(
        {
          Bucket: ref.name,
          ...(prefix ? { Prefix: prefix } : {}),
          ...(after !== undefined && token === undefined ? { StartAfter: after } : {}),
          ...(token ? { ContinuationToken: token } : {}),
        },
        { signal },
      )
    } catch (err) {
      if (signal.aborted) throw new Stop()
      throw toBucketflowError(err, { bucket: ref.name, operation: 'ListObjectsV2' })
    }
    for (const o of page.Contents) out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '' })
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return out
}

function followRotation(ref: BucketRef, prefix: string, opts: TailOptions, from: TailFrom, pollMs: number) {
  const markers = opts.markers ?? false
  const decompress = opts.decompress ?? true
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
        const answer = await getObject(ref, object.key, {}, signal)
        if (answer.status !== 'ok') {
          // Deleted since the listing (e.g. by a lifecycle rule): nothing to read.
          after = object.key
          continue
        }
        const marker: TailObject = { marker: 'object', key: object.key, size: object.size, etag: object.etag }
        emitter.emit('object', marker)
        if (markers) yield marker
        const kind = decompress ? compressionOf(object.key, answer.encoding) : 'none'
        if (kind === 'none') yield* answer.body
        else {
          const decoder = new ChunkDecoder(kind, `s3://${ref.name}/${object.key}`)
          try {
            for await (const chunk of answer.body) yield* await decoder.write(chunk)
            yield* await decoder.end()
          } finally {
            decoder.destroy()
          }
        }
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

/** Options for {@link lines}. */
export interface LinesOptions {
  /**
   * Decompress gzip and zstd data, told by its first bytes (gzip `1f 8b 08`, zstd
   * `28 b5 2f fd`: never the start of UTF-8 text), at the start and after each object marker.
   * Default true.
   */
  decompress?: boolean
}

/**
 * Turn chunks (Buffers, Uint8Arrays or strings) into lines: split at '\n' (a trailing '\r' is
 * removed too), UTF-8 decoded, without the line ending. A line split across chunks (even inside
 * a multi-byte character) comes out whole; a last line without a newline comes out at the end.
 * gzip- or zstd-compressed bytes (a stored `.gz` / `.zst` object) are decompressed first.
 * {@link TailMarker}s pass through: a reset drops the partial line it interrupted (the content
 * starts over), a new object ends the partial line before it.
 * Memory: one partial line (and a decompressor's window).
 *
 * @example
 * ```ts
 * for await (const line of lines(bucket.stream('data.ndjson'))) console.log(JSON.parse(line))
 * for await (const line of lines(bucket.stream('logs/20261201T000000.000Z-000001.log.gz'))) console.log(line)
 * ```
 */
export function lines(source: AsyncIterable<Uint8Array | string>, options?: LinesOptions): AsyncGenerator<string>
export function lines(source: AsyncIterable<Uint8Array | string | TailMarker>, options?: LinesOptions): AsyncGenerator<string | TailMarker>
export async function* lines(source: AsyncIterable<Uint8Array | string | TailMarker>, options: LinesOptions = {}): AsyncGenerator<string | TailMarker> {
  const decompress = options.decompress ?? true
  let carry: Buffer[] = []
  /** Until the first bytes of a part (the stream, or an object) tell: held bytes. */
  let state: 'sniff' | 'plain' | ChunkDecoder = decompress ? 'sniff' : 'plain'
  let head: Buffer[] = []
  const text = (bytes: Buffer) => {
    const s = bytes.toString('utf8')
    return s.endsWith('\r') ? s.slice(0, -1) : s
  }
  function* split(buf: Buffer): Generator<string> {
    let start = 0
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      const piece = buf.subarray(start, nl)
      yield text(carry.length > 0 ? Buffer.concat([...carry, piece]) : piece)
      carry = []
      start = nl + 1
    }
    if (start < buf.length) carry.push(Buffer.from(buf.subarray(start)))
  }
  async function* feed(input: Buffer): AsyncGenerator<string> {
    let buf = input
    if (state === 'sniff') {
      head.push(buf)
      const all = head.length === 1 ? buf : Buffer.concat(head)
      const kind = sniffCompression(all)
      if (kind === undefined) return
      head = []
      state = kind === 'none' ? 'plain' : new ChunkDecoder(kind, 'the stream')
      buf = all
    }
    if (state === 'plain') yield* split(buf)
    else for (const out of await state.write(buf)) yield* split(out)
  }
  /** The end of a part: what is held is plain text; a decoder is finished (or dropped on a reset). */
  async function* endPart(complete: boolean): AsyncGenerator<string> {
    const held = head
    head = []
    if (state === 'sniff' && held.length > 0) yield* split(Buffer.concat(held))
    else if (state instanceof ChunkDecoder) {
      const decoder = state
      state = 'plain'
      if (complete) for (const out of await decoder.end()) yield* split(out)
      decoder.destroy()
    }
    state = decompress ? 'sniff' : 'plain'
  }
  for await (const item of source) {
    if (isTailMarker(item)) {
      yield* endPart(item.marker === 'object')
      if (item.marker === 'object' && carry.length > 0) yield text(Buffer.concat(carry))
      carry = []
      yield item
      continue
    }
    if (typeof item === 'string') {
      if (state === 'sniff') state = 'plain'
      yield* split(Buffer.from(item, 'utf8'))
    } else yield* feed(Buffer.isBuffer(item) ? item : Buffer.from(item.buffer, item.byteOffset, item.byteLength))
  }
  yield* endPart(true)
  if (carry.length > 0) yield text(Buffer.concat(carry))
}
