/**
 * Rotating log objects: a Writable that writes what it is given into a series of S3 objects
 * under one prefix, closing the current object and starting the next every `rotateMs` or
 * `rotateBytes`, so data written now and then becomes visible in S3 within `rotateMs`.
 *
 * Object names sort by time: `<prefix><time>-<seq>.log`, the time in ISO 8601 basic format
 * (UTC, milliseconds: `20240131T235959.123Z`, no ':' so the key is safe in URLs and file names)
 * and `seq` a zero-padded counter (`000001`). Listing the prefix gives the objects in the
 * order they were written (`tail(prefix, { follow: 'rotation' })` relies on it).
 *
 * Line-safe by default: an object only ever ends at a newline, so no line is split across two
 * objects. A partial line waits (copied) until its newline arrives; a line longer than
 * `maxLineBytes` is streamed into the current object as it comes and the rotation waits for its
 * end. `end()` flushes the last object (with a final line that has no newline, if any).
 *
 * Memory: the multipart sink's `partSize * (queueSize + 1)` for the open object, and as much
 * again for the previous object while it is being stored (objects smaller than `partSize` go
 * up in one PutObject and hold only their bytes), plus a partial line of at most
 * `maxLineBytes`. A closed object is stored in the background while the next one fills; it is
 * stored only after the one before it, so objects appear in key order, and writes wait if the
 * one before it is still being stored.
 *
 * @example
 * ```ts
 * import { createLogStream } from 'bucketflow'
 * const log = createLogStream(bucket, 'logs/app/', { rotateMs: 60_000, rotateBytes: 64 * 1024 * 1024 })
 * log.on('object', (o) => console.log('stored', o.key, o.size))
 * log.write(`${new Date().toISOString()} started\n`)
 * // ...
 * log.end()
 * await log.done
 * ```
 * @packageDocumentation
 */
import { once } from 'node:events'
import { Writable } from 'node:stream'
import type { BucketRef } from '../bucket-ref.js'
import { AbortError, InvalidArgumentError } from '../errors.js'
import { compareKeys } from '../keys.js'
import { describeValue, validateInteger, validateKey } from '../validate.js'
import { MultipartSink, validateWriteStreamOptions, type WriteStreamOptions, type WriteStreamResult } from './multipart.js'

const MiB = 1024 * 1024
const NEWLINE = 0x0a

/** What a naming function is given for each new object. */
export interface LogObjectName {
  /** When the object was opened (never earlier than the previous object's time). */
  time: Date
  /** 1 for the stream's first object, then 2, 3, ... */
  seq: number
}

/** Options for {@link createLogStream}. */
export interface LogStreamOptions extends Omit<WriteStreamOptions, 'onProgress'> {
  /** Start a new object once the current one has this many bytes. Default 64 MiB. */
  rotateBytes?: number
  /** Close the current object this many ms after it was opened. Default 60 000. */
  rotateMs?: number
  /**
   * The key of each object after the prefix. Keys must increase (UTF-8 byte order) from one
   * object to the next, or the stream fails with InvalidArgumentError. Default
   * {@link defaultLogName}: `<ISO basic time>-<seq, 6 digits>.log`.
   */
  naming?: (info: LogObjectName) => string
  /** Never split a line across objects. Default true; false rotates at any byte. */
  lineSafe?: boolean
  /** The longest partial line held in memory while waiting for its newline. Default 1 MiB. */
  maxLineBytes?: number
}

/** What a finished log stream wrote. */
export interface LogStreamResult {
  /** Objects stored. */
  objects: number
  /** Bytes stored in all of them. */
  size: number
  firstKey: string | undefined
  lastKey: string | undefined
}

/**
 * The default object name after the prefix: `20240131T235959.123Z-000042.log`.
 *
 * @example
 * ```ts
 * defaultLogName({ time: new Date(0), seq: 7 }) // '19700101T000000.000Z-000007.log'
 * ```
 */
export function defaultLogName(info: LogObjectName): string {
  const iso = info.time.toISOString().replace(/[-:]/g, '')
  return `${iso}-${String(info.seq).padStart(6, '0')}.log`
}

interface Current {
  sink: MultipartSink
  key: string
  bytes: number
  timer: NodeJS.Timeout
}

/**
 * The rotating log Writable. Create it with {@link createLogStream} (or
 * `bucket.createLogStream`). Emits 'object' with `{ key, size, etag, parts }` after each object
 * is stored; `done` resolves after `end()` once the last object is stored.
 *
 * @example
 * ```ts
 * const log = bucket.createLogStream('logs/', { rotateMs: 5_000 })
 * setInterval(() => log.write(`${Date.now()} tick\n`), 1_000)
 * ```
 */
export class LogSink extends Writable {
  /** The bucket's name. */
  readonly bucket: string
  /** The prefix every object's key starts with. */
  readonly prefix: string
  readonly rotateBytes: number
  readonly rotateMs: number
  /**
   * Settles after the stream ended: resolves to `{ objects, size, firstKey, lastKey }` once the
   * last object is stored, or rejects with the error that stopped it (the open object's upload
   * is aborted first; objects already stored stay). Never an unhandled rejection on its own.
   */
  readonly done: Promise<LogStreamResult>

  readonly #ref: BucketRef
  readonly #naming: (info: LogObjectName) => string
  readonly #lineSafe: boolean
  readonly #maxLineBytes: number
  readonly #sinkOptions: WriteStreamOptions
  readonly #signal: AbortSignal | undefined
  readonly #onAbort: () => void
  #resolve!: (r: LogStreamResult) => void
  #reject!: (err: unknown) => void

  /** Serializes writes, timer rotations and the final flush. */
  #busy: Promise<void> = Promise.resolve()
  /** The object being stored after rotation, if any (settles when stored). */
  #closing: Promise<void> = Promise.resolve()
  #closingSink: MultipartSink | undefined
  #current: Current | undefined
  #carry: Buffer[] = []
  #carryBytes = 0
  /** The open object ends inside an overlong line: no rotation until its newline. */
  #midLine = false
  #rotateDue = false
  #seq = 0
  #lastTime = 0
  #lastKey: string | undefined
  #firstKey: string | undefined
  #objects = 0
  #size = 0

  /** Use {@link createLogStream}. */
  constructor(ref: BucketRef, prefix: string, opts: LogStreamOptions = {}) {
    if (typeof prefix !== 'string') {
      throw new InvalidArgumentError(`Expected prefix to be a string, got ${describeValue(prefix)}`, { bucket: ref.name, argument: 'prefix' })
    }
    const rotateBytes = opts.rotateBytes ?? 64 * MiB
    const rotateMs = opts.rotateMs ?? 60_000
    const maxLineBytes = opts.maxLineBytes ?? MiB
    validateInteger(rotateBytes, 'rotateBytes', 1)
    validateInteger(rotateMs, 'rotateMs', 1, 2 ** 31 - 1)
    validateInteger(maxLineBytes, 'maxLineBytes', 1)
    if (opts.naming !== undefined && typeof opts.naming !== 'function') {
      throw new InvalidArgumentError(`Expected naming to be a function, got ${describeValue(opts.naming)}`, { bucket: ref.name, argument: 'naming' })
    }
    const { rotateBytes: _rb, rotateMs: _rm, naming: _n, lineSafe: _l, maxLineBytes: _m, signal, ...sinkOptions } = opts
    sinkOptions.contentType ??= 'text/plain; charset=utf-8'
    // Validate the sink options now (partSize, queueSize, ...) rather than at the first object.
    validateWriteStreamOptions(sinkOptions, { bucket: ref.name })
    super({ objectMode: false, decodeStrings: true })
    this.#ref = ref
    this.bucket = ref.name
    this.prefix = prefix
    this.rotateBytes = rotateBytes
    this.rotateMs = rotateMs
    this.#naming = opts.naming ?? defaultLogName
    this.#lineSafe = opts.lineSafe ?? true
    this.#maxLineBytes = maxLineBytes
    this.#sinkOptions = sinkOptions
    this.done = new Promise<LogStreamResult>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.done.catch(() => undefined)
    this.#signal = signal
    this.#onAbort = () => this.destroy(new AbortError(`The log stream to s3://${this.bucket}/${this.prefix} was aborted`, { bucket: this.bucket, cause: signal?.reason }))
    if (signal?.aborted) process.nextTick(this.#onAbort)
    else signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Objects stored so far. */
  get objects(): number {
    return this.#objects
  }
  /** The key of the object being written, if one is open. */
  get currentKey(): string | undefined {
    return this.#current?.key
  }

  #run(task: () => Promise<void>): Promise<void> {
    const next = this.#busy.then(() => (this.destroyed ? undefined : task()))
    this.#busy = next.catch(() => undefined)
    return next
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#run(() => (this.#lineSafe ? this.#acceptLines(chunk) : this.#acceptBytes(chunk))).then(() => callback(), callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#run(async () => {
      if (this.#carryBytes > 0) {
        const rest = Buffer.concat(this.#carry)
        this.#carry = []
        this.#carryBytes = 0
        await this.#emit(rest)
      }
      await this.#close()
      await this.#closing
    }).then(() => {
      this.#resolve({ objects: this.#objects, size: this.#size, firstKey: this.#firstKey, lastKey: this.#lastKey })
      callback()
    }, callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#signal?.removeEventListener('abort', this.#onAbort)
    const current = this.#current
    this.#current = undefined
    this.#carry = []
    this.#carryBytes = 0
    if (current) clearTimeout(current.timer)
    // An object still being stored is stopped too: destroying means "stop now".
    const closingSink = this.#closingSink
    this.#closingSink = undefined
    closingSink?.destroy(error ?? undefined)
    const reason = error ?? new AbortError(`The log stream to s3://${this.bucket}/${this.prefix} was destroyed before it ended`, { bucket: this.bucket })
    // `done` settles after 'error' and 'close' were emitted (Node emits them on the next tick).
    const settle = () => {
      callback(error)
      process.nextTick(() => this.#reject(reason))
    }
    current?.sink.destroy(error ?? undefined)
    const sinks = [current?.sink, closingSink].filter((x): x is MultipartSink => x !== undefined)
    Promise.allSettled(sinks.map((x) => x.done)).then(settle, settle)
  }

  /** Line-safe: only whole lines reach an object; a partial line waits in `#carry`. */
  async #acceptLines(chunk: Buffer): Promise<void> {
    let off = 0
    if (this.#midLine) {
      const nl = chunk.indexOf(NEWLINE)
      if (nl < 0) return this.#emit(chunk)
      await this.#emit(chunk.subarray(0, nl + 1))
      this.#midLine = false
      off = nl + 1
      if (this.#rotateDue || (this.#current?.bytes ?? 0) >= this.rotateBytes) await this.#close()
    }
    const last = chunk.lastIndexOf(NEWLINE)
    if (last >= off) {
      const lines = chunk.subarray(off, last + 1)
      const complete = this.#carryBytes > 0 ? Buffer.concat([...this.#carry, lines]) : lines
      this.#carry = []
      this.#carryBytes = 0
      await this.#emitLines(complete)
      off = last + 1
    }
    if (off < chunk.length) {
      const tail = chunk.subarray(off)
      if (this.#carryBytes + tail.length > this.#maxLineBytes) {
        // An overlong line: stream it into the current object; rotation waits for its end.
        const pending = this.#carry
        this.#carry = []
        this.#carryBytes = 0
        for (const piece of pending) await this.#emit(piece)
        await this.#emit(tail)
        this.#midLine = true
      } else {
        this.#carry.push(Buffer.from(tail)) // a copy: never pin the writer's buffer
        this.#carryBytes += tail.length
      }
    }
  }

  /** Whole lines: rotate at line boundaries so no object exceeds rotateBytes (unless one line does). */
  async #emitLines(buf: Buffer): Promise<void> {
    let pos = 0
    while (pos < buf.length) {
      const used = this.#current?.bytes ?? 0
      const room = this.rotateBytes - used
      if (buf.length - pos <= room) {
        await this.#emit(buf.subarray(pos))
        break
      }
      const cut = room > 0 ? buf.lastIndexOf(NEWLINE, pos + room - 1) : -1
      if (cut >= pos) {
        await this.#emit(buf.subarray(pos, cut + 1))
        pos = cut + 1
      } else if (used === 0) {
        // One line longer than rotateBytes: it goes whole into an object of its own.
        const nl = buf.indexOf(NEWLINE, pos)
        await this.#emit(buf.subarray(pos, nl + 1))
        pos = nl + 1
      }
      await this.#close()
    }
    if ((this.#current?.bytes ?? 0) >= this.rotateBytes) await this.#close()
  }

  /** Not line-safe: rotate at exactly rotateBytes. */
  async #acceptBytes(chunk: Buffer): Promise<void> {
    let pos = 0
    while (pos < chunk.length) {
      const room = this.rotateBytes - (this.#current?.bytes ?? 0)
      const n = Math.min(room, chunk.length - pos)
      await this.#emit(chunk.subarray(pos, pos + n))
      pos += n
      if ((this.#current?.bytes ?? 0) >= this.rotateBytes) await this.#close()
    }
  }

  /** Write bytes into the open object (opening one if needed), honouring its backpressure. */
  async #emit(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return
    const current = this.#current ?? this.#open()
    current.bytes += bytes.length
    if (!current.sink.write(bytes)) await Promise.race([once(current.sink, 'drain'), current.sink.done])
  }

  #open(): Current {
    const now = Math.max(Date.now(), this.#lastTime)
    this.#lastTime = now
    const seq = ++this.#seq
    const key = `${this.prefix}${this.#naming({ time: new Date(now), seq })}`
    validateKey(key, this.bucket)
    if (this.#lastKey !== undefined && compareKeys(key, this.#lastKey) <= 0) {
      throw new InvalidArgumentError(`naming must produce increasing keys: ${JSON.stringify(key)} does not sort after ${JSON.stringify(this.#lastKey)}`, {
        bucket: this.bucket,
        key,
        argument: 'naming',
      })
    }
    this.#lastKey = key
    this.#firstKey ??= key
    const sink = new MultipartSink(this.#ref, key, this.#sinkOptions)
    sink.on('error', () => undefined) // failures surface through sink.done
    const timer = setTimeout(() => {
      this.#run(() => this.#rotateByTime(sink)).catch((err: unknown) => this.destroy(err as Error))
    }, this.rotateMs)
    this.#current = { sink, key, bytes: 0, timer }
    return this.#current
  }

  async #rotateByTime(sink: MultipartSink): Promise<void> {
    if (this.#current?.sink !== sink) return
    if (this.#midLine) {
      this.#rotateDue = true
      return
    }
    await this.#close()
  }

  /**
   * Close the open object: it is stored in the background while the next one fills, but only
   * after the object before it was stored (so objects appear in key order), and writing waits
   * while an earlier object is still being stored (at most one object closing at a time).
   */
  async #close(): Promise<void> {
    const current = this.#current
    if (!current) return
    this.#current = undefined
    this.#rotateDue = false
    clearTimeout(current.timer)
    const previous = this.#closing
    const closing = (async () => {
      await previous
      current.sink.end()
      const result: WriteStreamResult = await current.sink.done
      this.#objects++
      this.#size += result.size
      this.emit('object', result)
    })()
    this.#closing = closing.finally(() => {
      if (this.#closingSink === current.sink) this.#closingSink = undefined
    })
    this.#closingSink = current.sink
    // A failure destroys the stream; `#closing` still rejects for whoever awaits it (_final).
    closing.catch((err: unknown) => this.destroy(err as Error))
    this.#closing.catch(() => undefined)
    await previous
  }
}

/**
 * A Writable that stores what is written to it as rotating log objects under `prefix`:
 * `<prefix><ISO basic time>-<seq>.log`, a new object every `rotateMs` (default 60 s) or
 * `rotateBytes` (default 64 MiB), never splitting a line across objects. `end()` flushes the
 * last object; `done` resolves to `{ objects, size, firstKey, lastKey }`. Memory: twice the
 * multipart sink's `partSize * (queueSize + 1)` (the open object and the one being stored) plus
 * one partial line of at most `maxLineBytes` (1 MiB).
 *
 * @example
 * ```ts
 * const log = createLogStream(bucket, 'logs/worker-1/', { rotateMs: 10_000 })
 * for await (const event of events) log.write(JSON.stringify(event) + '\n')
 * log.end()
 * const { objects } = await log.done
 * ```
 */
export function createLogStream(ref: BucketRef, prefix: string, opts: LogStreamOptions = {}): LogSink {
  return new LogSink(ref, prefix, opts)
}
