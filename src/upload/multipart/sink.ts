/** The {@link MultipartSink} class (memory and guarantees: `../multipart.ts`). @packageDocumentation */
import { Writable } from 'node:stream'
import { transportOf, type BucketRef } from '../../bucket-ref.js'
import type { CompletedPart, CreateMultipartUploadInput } from '../../transport/types.js'
import { clientSettings } from '../../client.js'
import { AbortError, BucketflowError, InvalidArgumentError } from '../../errors.js'
import { validateKey } from '../../validate.js'
import { completeProven, putChecked } from './complete.js'
import { UploadLifecycle } from './lifecycle.js'
import { MAX_PARTS, validateOptions, type Options, type UploadProgress, type WriteStreamOptions, type WriteStreamResult } from './options.js'
import { md5, PART_BUFFERS, PartBuffers, sendWithRetries, type RetryPolicy } from './parts.js'

/**
 * A Writable that uploads what is written to it as one S3 object, in parts, with bounded
 * memory. Create it with {@link createWriteStream} (or `bucket.createWriteStream`).
 *
 * - Payload held never exceeds {@link MultipartSink.maxBufferedBytes} =
 *   `partSize * (queueSize + 1)`; see {@link MultipartSink.bufferedBytes} and
 *   {@link MultipartSink.peakBufferedBytes}.
 * - A stream smaller than one part (or exactly one part) is stored with a single PutObject; no
 *   multipart upload is created. An empty stream makes an empty object.
 * - A failed part is sent again with backoff, up to `maxPartAttempts`.
 * - On an unrecoverable error, `destroy()` or an aborted `signal`, the multipart upload is
 *   aborted (nothing is left on the server) and {@link MultipartSink.done} rejects after that
 *   cleanup; the error is emitted as 'error' (not for a plain `destroy()`, as in Node).
 * - Every part (and a single PutObject) carries a Content-MD5 the server checks (on AWS, the
 *   SDK's CRC32); a part the server saw corrupted (`BadDigest`) is sent again.
 * - 'finish' is emitted only after the upload was completed and proven: CompleteMultipartUpload
 *   answered with its result (a 200 carrying an `<Error>`, with any whitespace around it, is
 *   retried), and a HEAD shows the ETag the parts make (`md5(md5(p1) || ...)-N`) and the size
 *   written. After a lost answer (NoSuchUpload on the retry), that HEAD decides. An object that
 *   is not provably this upload's is never resolved with and never deleted (`IntegrityError`);
 *   one that is, but has another size, is deleted (`IntegrityError`). With credentials that may
 *   not HEAD the object, that last check is skipped (each part was still checked).
 * - When CreateMultipartUpload needed a retry (an earlier attempt may have created an upload
 *   whose id never arrived), the uploads of this key the server initiated during that call are
 *   aborted at the end, so no upload is left behind.
 *
 * @example
 * ```ts
 * import { once } from 'node:events'
 * declare const events: AsyncIterable<object>
 * const sink = bucket.createWriteStream('events.ndjson', { queueSize: 2 })
 * for await (const event of events) {
 *   if (!sink.write(JSON.stringify(event) + '\n')) await once(sink, 'drain')
 * }
 * sink.end()
 * console.log(await sink.done) // { key, size, etag, parts }
 * ```
 */
export class MultipartSink extends Writable {
  /** The bucket's name. */
  readonly bucket: string
  /** The object's key. */
  readonly key: string
  /** Bytes per part. */
  readonly partSize: number
  /** Parts uploaded at once. */
  readonly queueSize: number
  /**
   * Settles after the upload finished: resolves to `{ key, size, etag, parts }` once the object
   * is complete and verified, or rejects (after the multipart upload was aborted) with the error
   * that stopped it. It never causes an unhandled rejection on its own.
   */
  readonly done: Promise<WriteStreamResult>

  readonly #ref: BucketRef
  readonly #opts: Options
  readonly #input: CreateMultipartUploadInput
  readonly #onProgress: ((p: UploadProgress) => void) | undefined
  readonly #signal: AbortSignal | undefined
  readonly #onAbort: () => void
  /** Aborts in-flight part requests and retry waits when the sink is destroyed. */
  readonly #controller = new AbortController()
  #resolve!: (r: WriteStreamResult) => void
  #reject!: (err: unknown) => void

  /** The part being filled, and how much of it is filled; free part buffers (at most queueSize + 1 exist). */
  #part: Buffer | undefined
  #filled = 0
  readonly #pool: PartBuffers
  /** The pool is shared with other sinks: it is never cleared here. */
  readonly #sharedPool: boolean
  #partNumber = 0
  readonly #completed: CompletedPart[] = []
  #inflight = 0
  readonly #inflightPromises = new Set<Promise<void>>()
  #waiters: (() => void)[] = []
  readonly #upload: UploadLifecycle
  #failure: Error | undefined
  #finished = false
  #partRetries = 0
  readonly #sdkChecksums: boolean

  #bytesWritten = 0
  #bytesUploaded = 0
  #partsDone = 0
  #buffered = 0
  #peak = 0

  /** Use {@link createWriteStream}. */
  constructor(ref: BucketRef, key: string, opts: WriteStreamOptions = {}) {
    validateKey(key, ref.name)
    const where = { bucket: ref.name, key }
    const options = validateOptions(opts, where)
    super({ objectMode: false, decodeStrings: true })
    this.#ref = ref
    this.bucket = ref.name
    this.key = key
    this.#opts = { ...options, contentMd5: opts.contentMd5 ?? !clientSettings(ref.client).sdkChecksums }
    this.#sdkChecksums = clientSettings(ref.client).sdkChecksums
    this.partSize = options.partSize
    this.queueSize = options.queueSize
    const shared = (opts as { [PART_BUFFERS]?: PartBuffers })[PART_BUFFERS]
    this.#sharedPool = shared?.size === options.partSize
    this.#pool = this.#sharedPool ? shared! : new PartBuffers(options.partSize)
    this.#onProgress = opts.onProgress
    const input: CreateMultipartUploadInput = { Bucket: ref.name, Key: key }
    if (opts.contentType !== undefined) input.ContentType = opts.contentType
    if (opts.contentEncoding !== undefined) input.ContentEncoding = opts.contentEncoding
    if (opts.metadata !== undefined) input.Metadata = opts.metadata
    if (opts.storageClass !== undefined) input.StorageClass = opts.storageClass
    this.#input = input
    this.#upload = new UploadLifecycle(ref, input, () => this.#where())
    this.done = new Promise<WriteStreamResult>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.done.catch(() => undefined)
    this.#signal = opts.signal
    this.#onAbort = () =>
      this.destroy(new AbortError(`The upload to s3://${this.bucket}/${this.key} was aborted`, { ...this.#where(), cause: this.#signal?.reason }))
    if (this.#signal?.aborted) process.nextTick(this.#onAbort)
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** The payload bound: `partSize * (queueSize + 1)` bytes. */
  get maxBufferedBytes(): number {
    return this.partSize * (this.queueSize + 1)
  }
  /** Payload bytes the sink holds right now (the part being filled and the parts in flight). */
  get bufferedBytes(): number {
    return this.#buffered
  }
  /** The most payload bytes the sink has held at once; never above {@link maxBufferedBytes}. */
  get peakBufferedBytes(): number {
    return this.#peak
  }
  /** Bytes accepted from the writer. */
  get bytesWritten(): number {
    return this.#bytesWritten
  }
  /** Bytes the server has acknowledged. */
  get bytesUploaded(): number {
    return this.#bytesUploaded
  }
  /** Parts uploaded so far. */
  get partsDone(): number {
    return this.#partsDone
  }
  /** Parts in flight right now (at most `queueSize`). */
  get partsInFlight(): number {
    return this.#inflight
  }
  /** Part attempts that failed and were sent again. */
  get partRetries(): number {
    return this.#partRetries
  }
  /** The multipart upload's id, once one was created. */
  get uploadId(): string | undefined {
    return this.#upload.uploadId
  }

  #where(): { bucket: string; key: string; uploadId?: string } {
    return { bucket: this.bucket, key: this.key, ...(this.#upload.uploadId ? { uploadId: this.#upload.uploadId } : {}) }
  }

  #progress(): void {
    if (!this.#onProgress) return
    try {
      this.#onProgress({ bytesWritten: this.#bytesWritten, bytesUploaded: this.#bytesUploaded, partsDone: this.#partsDone })
    } catch (err) {
      this.#fail(
        new BucketflowError(
          `onProgress of the upload to s3://${this.bucket}/${this.key} threw: ${err instanceof Error ? err.message : String(err)}`,
          { ...this.#where(), cause: err },
          'OnProgressError',
        ),
      )
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  /** Resolves once fewer than `limit` parts are in flight (`queueSize`: a free slot; 1: none), or the sink failed. */
  async #inflightBelow(limit: number): Promise<void> {
    while (this.#inflight >= limit && !this.#failure) await new Promise<void>((r) => this.#waiters.push(r))
  }

  #fail(err: Error): void {
    if (this.#failure) return
    this.#failure = err
    this.#wake()
    this.destroy(err)
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#consume(chunk, 0, callback)
  }

  /** Copy `chunk[offset..]` into parts; pause (keeping the callback) while no part can be sent. */
  #consume(chunk: Buffer, offset: number, callback: (error?: Error | null) => void): void {
    let off = offset
    while (off < chunk.length) {
      if (this.#failure) return callback(this.#failure)
      if (this.#part && this.#filled === this.partSize) {
        // The part is full and more data has come: send it, or wait for a free slot.
        if (this.#inflight >= this.queueSize) {
          this.#waiters.push(() => this.#consume(chunk, off, callback))
          return
        }
        this.#seal()
        if (this.#failure) return callback(this.#failure)
      }
      if (!this.#part) {
        this.#part = this.#pool.take()
        this.#filled = 0
      }
      const n = Math.min(this.partSize - this.#filled, chunk.length - off)
      chunk.copy(this.#part, this.#filled, off, off + n)
      this.#filled += n
      off += n
      this.#bytesWritten += n
      this.#buffered += n
      if (this.#buffered > this.#peak) this.#peak = this.#buffered
    }
    callback()
  }

  /** Send the current part (the caller made sure a slot is free). */
  #seal(): void {
    const buffer = this.#part!
    const length = this.#filled
    this.#part = undefined
    this.#filled = 0
    const partNumber = ++this.#partNumber
    if (partNumber > MAX_PARTS) {
      this.#fail(
        new InvalidArgumentError(`s3://${this.bucket}/${this.key} needs more than ${MAX_PARTS} parts of ${this.partSize} bytes; use a larger partSize`, {
          ...this.#where(),
          argument: 'partSize',
        }),
      )
      return
    }
    this.#inflight++
    const task = this.#uploadPart(partNumber, buffer.subarray(0, length)).then(
      (etag) => {
        this.#completed.push({ PartNumber: partNumber, ETag: etag })
        this.#inflight--
        this.#buffered -= length
        this.#bytesUploaded += length
        this.#partsDone++
        this.#pool.give(buffer)
        this.#progress()
        this.#wake()
      },
      (err: unknown) => {
        this.#inflight--
        this.#fail(err as Error)
      },
    )
    this.#inflightPromises.add(task)
    void task.finally(() => this.#inflightPromises.delete(task))
    this.#progress()
  }

  async #uploadPart(partNumber: number, body: Buffer): Promise<string> {
    const uploadId = await this.#upload.create()
    const signal = this.#controller.signal
    const contentMd5 = this.#opts.contentMd5 ? md5(body) : undefined
    const where = { ...this.#where(), partNumber }
    return sendWithRetries(
      async () => {
        if (signal.aborted) throw this.#abortError()
        const input = { Bucket: this.bucket, Key: this.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }
        const out = await transportOf(this.#ref).uploadPart(contentMd5 ? { ...input, ContentMD5: contentMd5 } : input, { signal })
        if (!out.ETag) throw new BucketflowError(`UploadPart ${partNumber} of s3://${this.bucket}/${this.key} returned no ETag`, where, 'NoETag')
        return out.ETag
      },
      this.#retryPolicy({ ...where, operation: 'UploadPart' }),
    )
  }

  /** How a part (or the single PutObject) is sent again. */
  #retryPolicy(where: RetryPolicy['where']): RetryPolicy {
    return {
      maxAttempts: this.#opts.maxPartAttempts,
      signal: this.#controller.signal,
      where,
      aborted: () => this.#abortError(),
      onRetry: () => {
        this.#partRetries++
      },
    }
  }

  #abortError(): Error {
    return this.#failure ?? new AbortError(`The upload to s3://${this.bucket}/${this.key} was aborted`, this.#where())
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#finish().then(
      (result) => {
        this.#finished = true
        this.#resolve(result)
        callback()
      },
      (err: unknown) => callback(err as Error),
    )
  }

  async #finish(): Promise<WriteStreamResult> {
    if (this.#partNumber === 0) return this.#putWhole()
    if (this.#part && this.#filled > 0) {
      await this.#inflightBelow(this.queueSize)
      if (this.#failure) throw this.#failure
      this.#seal()
    }
    await this.#inflightBelow(1)
    if (this.#failure) throw this.#failure
    const { size, etag, parts } = await completeProven({
      ref: this.#ref,
      bucket: this.bucket,
      key: this.key,
      uploadId: this.#upload.uploadId!,
      completed: this.#completed,
      bytesWritten: this.#bytesWritten,
      signal: this.#controller.signal,
      where: this.#where(),
      onCompleted: () => {
        this.#finished = true
      },
    })
    await this.#upload.abortLostCreates()
    this.#progress()
    this.#releasePool()
    return { key: this.key, size, etag, parts, verified: this.#verifiedBy() }
  }

  /** Drop the free part buffers, unless the pool is shared (the next sink reuses them). */
  #releasePool(): void {
    if (!this.#sharedPool) this.#pool.clear()
  }

  #verifiedBy(): 'md5' | 'crc32' | 'none' {
    return this.#opts.contentMd5 ? 'md5' : this.#sdkChecksums ? 'crc32' : 'none'
  }

  /** The whole stream fits in one part: one PutObject, no multipart upload. */
  async #putWhole(): Promise<WriteStreamResult> {
    const body = this.#part ? this.#part.subarray(0, this.#filled) : Buffer.alloc(0)
    const contentMd5 = this.#opts.contentMd5 ? md5(body) : undefined
    const signal = this.#controller.signal
    const input = { ...this.#input, Body: body, ContentLength: body.length }
    const etag = await sendWithRetries(
      () => putChecked(this.#ref, input, contentMd5, signal, this.#where()),
      this.#retryPolicy({ ...this.#where(), operation: 'PutObject' }),
    )
    this.#bytesUploaded = body.length
    this.#buffered = 0
    // Stored: its buffer is free again (kept only by a shared pool).
    if (this.#part) this.#pool.give(this.#part)
    this.#part = undefined
    this.#releasePool()
    this.#progress()
    return { key: this.key, size: body.length, etag, parts: 0, verified: this.#verifiedBy() }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#signal?.removeEventListener('abort', this.#onAbort)
    if (this.#finished) {
      // Completed (a failure after that, e.g. the size check, still rejects `done`; after
      // success the rejection is a no-op).
      callback(error)
      process.nextTick(() => this.#reject(error ?? new AbortError(`The write stream to s3://${this.bucket}/${this.key} was destroyed`, this.#where())))
      return
    }
    const reason = error ?? new AbortError(`The write stream to s3://${this.bucket}/${this.key} was destroyed before it finished`, this.#where())
    this.#failure ??= reason
    this.#controller.abort(reason)
    this.#wake()
    const settle = () => {
      this.#part = undefined
      this.#releasePool()
      this.#buffered = 0
      callback(error)
      // `done` settles after 'error' and 'close' were emitted (Node emits them on the next tick).
      process.nextTick(() => this.#reject(reason))
    }
    this.#cleanup().then(settle, settle)
  }

  /** Wait for in-flight requests to settle, then abort the multipart upload, if one exists. */
  async #cleanup(): Promise<void> {
    await Promise.allSettled([...this.#inflightPromises])
    await this.#upload.abort()
  }
}
