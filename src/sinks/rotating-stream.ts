/**
 * The rotating log Writable: serializes writes and rotations, opens and closes objects, settles
 * `done` (options, keys, line cuts, spool: the rotating-*.ts files; module docs: rotating.ts).
 * @packageDocumentation
 */
import { Writable } from 'node:stream'
import type { BucketRef } from '../bucket-ref.js'
import { AbortError, InvalidArgumentError } from '../errors.js'
import { describeValue } from '../validate.js'
import type { ObjectBuild, ObjectWriter, SchemaHolder, StoredLogObject } from './log-objects.js'
import type { SegmentHeader } from './spool.js'
import { KeyNamer, type OpenObject } from './rotating-keys.js'
import { LineSplitter } from './rotating-lines.js'
import { MiB, resolveOptions, type LogStreamOptions, type Resolved } from './rotating-options.js'
import { createObjectWriter, loadParquetBuilder, type ParquetModule } from './rotating-queue.js'
import { LogSpool } from './rotating-spool.js'
import { DropNewest, LogStats, type DroppedCounts, type LogStreamResult } from './rotating-stats.js'

/**
 * The rotating log Writable. Create it with {@link createLogStream} (or
 * `bucket.createLogStream`). Emits 'object' ({@link StoredLogObject}: `{ key, size, etag,
 * parts, kind, rawBytes, lines, recovered }`) after each object is stored, 'drop'
 * (`{ bytes, lines }`) when the spool is full and lines are dropped, and 'retry'
 * (`{ key, attempt, error, delayMs }`) before an upload from the spool is tried again. `done`
 * resolves after `end()` once the last object is stored.
 *
 * @example
 * ```ts
 * const log = bucket.createLogStream('logs/', { rotateMs: 5_000, compression: 'zstd' })
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
   * Settles after the stream ended: resolves to {@link LogStreamResult} once the last object is
   * stored, or rejects with the error that stopped it (the open object's upload is aborted
   * first; objects already stored stay; with a spool, what was not stored stays in it). Never
   * an unhandled rejection on its own.
   */
  readonly done: Promise<LogStreamResult>

  readonly #ref: BucketRef
  readonly #o: Resolved
  readonly #signal: AbortSignal | undefined
  readonly #onAbort: () => void
  readonly #schema: SchemaHolder
  #parquet: ParquetModule | undefined // the Parquet builder, loaded by _construct for a Parquet log
  #resolve!: (r: LogStreamResult) => void
  #reject!: (err: unknown) => void

  /** Serializes writes, timer rotations and the final flush. */
  #busy: Promise<void> = Promise.resolve()
  /** Memory mode: the object being stored after rotation, if any (settles when stored). */
  #closing: Promise<void> = Promise.resolve()
  #closingWriter: ObjectWriter | undefined
  #current: OpenObject | undefined
  readonly #lines: LineSplitter
  readonly #names: KeyNamer
  readonly #stats = new LogStats()
  readonly #drop: DropNewest

  // Spool mode.
  #spooled: LogSpool | undefined
  readonly #uploadController = new AbortController()

  /** Use {@link createLogStream}. */
  constructor(ref: BucketRef, prefix: string, opts: LogStreamOptions = {}) {
    if (typeof prefix !== 'string') {
      throw new InvalidArgumentError(`Expected prefix to be a string, got ${describeValue(prefix)}`, { bucket: ref.name, argument: 'prefix' })
    }
    const o = resolveOptions(ref, prefix, opts)
    super({ objectMode: false, decodeStrings: true, ...(o.spool !== undefined ? { highWaterMark: MiB } : {}) })
    this.#ref = ref
    this.#o = o
    this.bucket = ref.name
    this.prefix = prefix
    this.rotateBytes = o.rotateBytes
    this.rotateMs = o.rotateMs
    this.#schema = { schema: o.schema }
    this.#names = new KeyNamer(ref.name, prefix, o)
    this.#lines = new LineSplitter(
      {
        emit: (bytes) => this.#emit(bytes),
        close: () => this.#close(),
        currentBytes: () => this.#current?.bytes ?? 0,
        pending: async (copy) => {
          if (!this.#spooled) return
          // Durable before the write is acknowledged, like every accepted byte.
          const current = this.#current ?? (await this.#open(false))
          current.segment!.pending(copy)
        },
      },
      o,
    )
    this.#drop = new DropNewest(o.lineSafe, this.#stats.dropped, (drop) => this.emit('drop', drop))
    this.done = new Promise<LogStreamResult>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.done.catch(() => undefined)
    const signal = opts.signal
    this.#signal = signal
    this.#onAbort = () =>
      this.destroy(new AbortError(`The log stream to s3://${this.bucket}/${this.prefix} was aborted`, { bucket: this.bucket, cause: signal?.reason }))
    if (signal?.aborted) process.nextTick(this.#onAbort)
    else signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Objects stored so far. */
  get objects(): number {
    return this.#stats.objects
  }
  /** The key of the object being written, if one is open. */
  get currentKey(): string | undefined {
    return this.#current?.key
  }
  /** What was dropped so far because the spool was full. */
  get dropped(): Readonly<DroppedCounts> {
    return { ...this.#stats.dropped }
  }
  /** Bytes in the spool folder (0 without a spool). */
  get spoolBytes(): number {
    return this.#spooled?.spool.bytes ?? 0
  }
  /** The result so far. */
  get stats(): LogStreamResult {
    return this.#stats.result()
  }

  /** Loads the Parquet builder (and Arrow) for a Parquet log, or for Parquet segments an earlier one spooled, and opens the spool. */
  override _construct(callback: (error?: Error | null) => void): void {
    this.#openSpool().then(() => callback(), callback)
  }

  async #openSpool(): Promise<void> {
    if (this.#o.build.format === 'parquet') this.#parquet = await loadParquetBuilder(this.#schema)
    if (this.#o.spool === undefined) return
    this.#spooled = await LogSpool.open(this.#ref, this.prefix, this.#o, this.#uploadController.signal, {
      createWriter: (key, build, extra) => createObjectWriter(this.#ref, this.#o.sinkOptions, this.#schema, key, build, extra, this.#parquet),
      record: (objects) => this.#record(objects),
      recovered: () => this.#stats.recovered++,
      retry: (info) => this.emit('retry', info),
      fail: (err) => this.destroy(err),
    })
    if (!this.#parquet && this.#spooled.spool.recovered.some((r) => r.header.build.format === 'parquet')) this.#parquet = await loadParquetBuilder(this.#schema)
    await this.#spooled.recover(this.#schema, { bucket: this.bucket, prefix: this.prefix }, this.#parquet)
  }

  #run(task: () => Promise<void>): Promise<void> {
    const next = this.#busy.then(() => (this.destroyed ? undefined : task()))
    this.#busy = next.catch(() => undefined)
    return next
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#run(async () => {
      await this.#accept(chunk)
      await this.#current?.segment?.flush()
    }).then(() => callback(), callback)
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.#run(async () => {
      for (const { chunk } of chunks) await this.#accept(chunk)
      await this.#current?.segment?.flush()
    }).then(() => callback(), callback)
  }

  async #accept(input: Buffer): Promise<void> {
    let chunk = input
    if (this.#spooled) {
      if (this.#o.whenFull === 'drop-newest') chunk = await this.#admit(chunk)
      else await this.#waitForSpace(chunk.length)
      if (this.destroyed) return
    }
    if (chunk.length === 0) return
    await this.#lines.accept(chunk)
  }

  #spoolFull(n: number): boolean {
    return this.#spooled!.full(n, this.#current?.segment?.queuedBytes ?? 0)
  }

  /** whenFull 'block': wait until the chunk fits (an open object is closed so it can be stored). */
  async #waitForSpace(n: number): Promise<void> {
    while (this.#spoolFull(n) && !this.destroyed) {
      if (await this.#makeRoom()) continue
      // Nothing will be freed (e.g. inside one overlong line): take the chunk over the bound.
      if (this.#spooled!.idle(this.#current?.writer !== undefined)) return
      await this.#spooled!.spool.spaceFreed()
    }
  }

  /** whenFull 'drop-newest': the part of the chunk that is kept; whole lines are dropped and counted. */
  async #admit(chunk: Buffer): Promise<Buffer> {
    const inLine = this.#lines.carryBytes > 0 || this.#lines.midLine
    const { accepted, makeRoom } = this.#drop.admit(chunk, { full: (n) => this.#spoolFull(n), inLine })
    if (makeRoom) await this.#makeRoom()
    return accepted
  }

  /** Spool mode: close the open object so it can be stored, to make room; false when there is none to close. */
  async #makeRoom(): Promise<boolean> {
    if (!this.#current || this.#current.bytes === 0 || this.#lines.midLine) return false
    await this.#current.segment!.flush()
    await this.#close()
    return true
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#run(async () => {
      const rest = this.#lines.takeCarry()
      if (rest) await this.#emit(rest)
      await this.#current?.segment?.flush()
      await this.#close()
      await this.#closing
      if (this.#spooled) {
        await this.#spooled.uploads.drained()
        await this.#spooled.spool.close()
      }
    }).then(() => {
      this.#resolve(this.stats)
      callback()
    }, callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#signal?.removeEventListener('abort', this.#onAbort)
    const current = this.#current
    this.#current = undefined
    this.#lines.clear()
    if (current?.timer) clearTimeout(current.timer)
    // An object still being stored is stopped too: destroying means "stop now".
    const closingWriter = this.#closingWriter
    this.#closingWriter = undefined
    const reason = error ?? new AbortError(`The log stream to s3://${this.bucket}/${this.prefix} was destroyed before it ended`, { bucket: this.bucket })
    this.#uploadController.abort(reason)
    // `done` settles after 'error' and 'close' were emitted (Node emits them on the next tick).
    const settle = () => {
      callback(error)
      process.nextTick(() => this.#reject(reason))
    }
    const cleanup = [
      current?.writer?.destroy(error ?? undefined),
      closingWriter?.destroy(error ?? undefined),
      ...(this.#spooled?.stop(error ?? undefined) ?? []),
      // With a spool, the open segment stays as it is: a later process recovers it.
      current?.segment?.closeFile(),
    ]
    Promise.allSettled(cleanup)
      .then(() => this.#spooled?.spool.close())
      .then(settle, settle)
  }

  /** Write bytes into the open object (opening one if needed), honouring its backpressure. */
  async #emit(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return
    const current = this.#current ?? (await this.#open(true))
    current.bytes += bytes.length
    if (!current.timer) this.#startTimer(current)
    if (!current.segment) return current.writer!.write(bytes)
    current.segment.data(bytes)
    if (current.writer) {
      try {
        await current.writer.write(bytes)
      } catch (err) {
        if (this.destroyed) throw err
        await this.#dropStreamed(current, err)
      }
    }
  }

  #startTimer(current: OpenObject): void {
    current.timer = setTimeout(() => {
      this.#run(() => this.#rotateByTime(current)).catch((err: unknown) => this.destroy(err as Error))
    }, this.rotateMs)
  }

  /** Open the next object: an object writer, or (with a spool) a segment file, created with the carried partial line. */
  async #open(withTimer: boolean, carry?: Buffer): Promise<OpenObject> {
    const { key, errorKey, seq, time } = this.#names.next()
    const build: ObjectBuild = { ...this.#o.build, ...(errorKey !== undefined ? { errorKey } : {}) }
    const current: OpenObject = { key, errorKey, seq, time, bytes: 0, timer: undefined }
    if (this.#spooled) {
      const header: SegmentHeader = { v: 1, key, time, seq, carried: 0, build: build as unknown as Record<string, unknown> }
      current.segment = await this.#spooled.spool.createSegment(header, carry)
      current.writer = this.#spooled.streamedWriter(key, build, current.segment.name)
    } else {
      current.writer = createObjectWriter(this.#ref, this.#o.sinkOptions, this.#schema, key, build, { recovered: false }, this.#parquet)
    }
    this.#current = current
    if (withTimer) this.#startTimer(current)
    return current
  }

  /** Spool mode: stop building the open object from memory; its segment is uploaded from the file when it closes. */
  async #dropStreamed(current: OpenObject, err: unknown): Promise<void> {
    const writer = current.writer
    if (!writer) return
    current.writer = undefined
    current.streamFailed = true
    await this.#spooled!.drop(writer, err)
  }

  async #rotateByTime(current: OpenObject): Promise<void> {
    if (this.#current !== current) return
    if (this.#lines.midLine) {
      this.#lines.rotateDue = true
      return
    }
    await current.segment?.flush()
    await this.#close()
  }

  #record(objects: StoredLogObject[]): void {
    for (const o of objects) {
      this.#stats.record(o)
      this.emit('object', o)
    }
  }

  /**
   * Close the open object. Without a spool it is stored in the background while the next one
   * fills, but only after the object before it was stored (so objects appear in key order),
   * and writing waits while an earlier object is still being stored (at most one object
   * closing at a time). With a spool its segment is sealed and queued for upload.
   */
  async #close(): Promise<void> {
    const current = this.#current
    if (!current) return
    this.#current = undefined
    this.#lines.rotateDue = false
    if (current.timer) clearTimeout(current.timer)
    if (current.segment) return this.#closeSegment(current)
    const writer = current.writer!
    writer.seal()
    const previous = this.#closing
    const closing = (async () => {
      await previous
      this.#record(await writer.end())
    })()
    this.#closing = closing.finally(() => {
      if (this.#closingWriter === writer) this.#closingWriter = undefined
    })
    this.#closingWriter = writer
    // A failure destroys the stream; `#closing` still rejects for whoever awaits it (_final).
    closing.catch((err: unknown) => this.destroy(err as Error))
    this.#closing.catch(() => undefined)
    await previous
  }

  async #closeSegment(current: OpenObject): Promise<void> {
    const segment = current.segment!
    const spooled = this.#spooled!
    // The partial line goes to the next segment first, then this one is sealed: at every
    // moment the line is in one place a restarted process would take it from.
    const carried = this.#lines.carried()
    if (carried) await this.#open(false, carried)
    const writer = current.writer
    if (segment.contentBytes === 0) {
      current.writer = undefined
      return spooled.removeEmpty(segment, writer)
    }
    // Sealed first: from here a restarted process uploads the segment whatever became of the
    // streamed object (a HEAD tells whether it was stored).
    await segment.seal()
    const job = spooled.jobOf(segment, current.streamFailed === true)
    const previous = this.#closing
    // In key order: after the object closed before this one, and after what the upload queue
    // holds (objects that are uploaded from their files).
    const closing = (async () => {
      await previous.catch(() => undefined)
      if (!writer) return spooled.uploads.enqueue(job)
      await spooled.uploads.drained()
      if (this.destroyed) throw new AbortError(`The log stream to s3://${this.bucket}/${this.prefix} was destroyed`, { bucket: this.bucket })
      try {
        writer.seal()
        this.#record(await writer.end())
      } catch (err) {
        if (this.destroyed || this.#uploadController.signal.aborted) throw err
        // Not stored from memory: from the file, after a HEAD (it may have been stored).
        await writer.destroy(err as Error)
        job.check = true
        return spooled.uploads.enqueue(job)
      }
      await spooled.spool.remove(job.path, job.fileBytes)
    })()
    this.#closing = closing.finally(() => {
      if (writer) spooled.streamed.delete(writer)
    })
    closing.catch((err: unknown) => this.destroy(err as Error))
    this.#closing.catch(() => undefined)
  }
}
