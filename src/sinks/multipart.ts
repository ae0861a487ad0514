/**
 * The bounded-memory multipart sink: a Node `Writable` that turns whatever is written to it
 * (all at once or intermittently) into the parts of one S3 multipart upload.
 *
 * Memory: the sink holds at most `partSize * (queueSize + 1)` bytes of payload: up to
 * `queueSize` parts being uploaded and one part being filled. When that is reached, `write()`
 * returns false and the sink stops taking data until a part has been uploaded (real
 * backpressure: `pipeline` and `pipe` stop pulling from the source). Written chunks are copied
 * into the part buffers, so no slice ever pins a caller's larger buffer. Beyond that, Node's own
 * write queue holds at most `writableHighWaterMark` (16 KiB by default) plus the chunk that
 * crossed it, for writers that respect `write()`'s return value.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * import { createReadStream } from 'node:fs'
 * import { createWriteStream } from 'bucketflow'
 * const sink = createWriteStream(bucket, 'backups/db.dump', { partSize: 16 * 1024 * 1024 })
 * await pipeline(createReadStream('db.dump'), sink)
 * const { size, etag, parts } = await sink.done
 * ```
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { transportOf, type BucketRef, type StorageClass } from '../bucket-ref.js'
import type { CompletedPart, CreateMultipartUploadInput } from '../transport/types.js'
import { sourceError, toReadable, type StreamSource } from '../body.js'
import { multipartEtag, multipartEtagParts, plainMd5 } from '../checksums.js'
import { clientSettings } from '../client.js'
import { AccessDeniedError, AbortError, BucketflowError, IntegrityError, InvalidArgumentError, isTransient, toBucketflowError } from '../errors.js'
import { headObject } from '../stages/head.js'
import { describeValue, validateInteger, validateKey } from '../validate.js'

const MiB = 1024 * 1024
/** Default part size: 8 MiB. */
export const DEFAULT_PART_SIZE = 8 * MiB
/** Smallest part size S3 accepts (for every part but the last): 5 MiB. */
export const MIN_PART_SIZE = 5 * MiB
/** Largest part size S3 accepts: 5 GiB. */
export const MAX_PART_SIZE = 5 * 1024 * MiB
/** Most parts one multipart upload may have. */
export const MAX_PARTS = 10_000
/** Default number of parts uploaded at once. */
export const DEFAULT_QUEUE_SIZE = 4
/** Default attempts per part (the first included). */
export const DEFAULT_MAX_PART_ATTEMPTS = 5

/** Progress of a streamed upload, passed to `onProgress`. */
export interface UploadProgress {
  /** Bytes accepted from the writer so far. */
  bytesWritten: number
  /** Bytes the server has acknowledged (parts uploaded, or the whole object). */
  bytesUploaded: number
  /** Parts uploaded so far (0 until the first part is done; 0 for a single PutObject). */
  partsDone: number
}

/** Options for {@link createWriteStream} and {@link putStream}. */
export interface WriteStreamOptions {
  /** Bytes per part: an integer between 5 MiB and 5 GiB. Default 8 MiB. */
  partSize?: number
  /** Parts uploaded at once: an integer >= 1. Default 4. */
  queueSize?: number
  /**
   * Attempts per part, the first included, before the upload fails and is aborted. The sink
   * holds a part's bytes until it is acknowledged, so a part can always be sent again. Each
   * attempt also goes through the client's own retry strategy. Default 5.
   */
  maxPartAttempts?: number
  contentType?: string
  /** The object's `Content-Encoding` (e.g. `gzip` for bytes that are gzip-compressed). */
  contentEncoding?: string
  metadata?: Record<string, string>
  storageClass?: StorageClass
  /**
   * Send a Content-MD5 with every part (and with a single PutObject) so the server rejects a
   * corrupted body (`BadDigest`), which is then sent again. Default: true, except on a client
   * whose SDK adds its own CRC32 checksum to every request (AWS endpoints), where it would be a
   * second pass over the bytes.
   */
  contentMd5?: boolean
  /** Abort the upload: nothing is left on the server, and the stream errors with AbortError. */
  signal?: AbortSignal
  /**
   * Called when a part is sealed, when a part is uploaded, and once when the object is
   * complete. An exception thrown here fails the upload.
   */
  onProgress?: (progress: UploadProgress) => void
}

/** What a finished streamed upload produced. */
export interface WriteStreamResult {
  key: string
  /** Bytes stored (verified against the bytes written). */
  size: number
  /** The object's ETag, from a HEAD after completing (some servers answer Complete with none). */
  etag: string
  /** Parts of the multipart upload; 0 when the stream was stored with a single PutObject. */
  parts: number
  /** What the server checked every part against: `md5` (Content-MD5), `crc32` (the SDK's checksum, on AWS) or `none`. */
  verified?: 'md5' | 'crc32' | 'none'
}

interface Options {
  partSize: number
  queueSize: number
  maxPartAttempts: number
  contentMd5: boolean
}

/**
 * Check the options of {@link createWriteStream} (partSize, queueSize, maxPartAttempts,
 * onProgress, signal) and throw InvalidArgumentError naming the wrong one.
 *
 * @example
 * ```ts
 * validateWriteStreamOptions({ partSize: 1024 }, { bucket: 'b', key: 'k' }) // throws: partSize
 * ```
 */
export function validateWriteStreamOptions(opts: WriteStreamOptions, where: { bucket: string; key?: string }): void {
  validateOptions(opts, where)
}

function validateOptions(opts: WriteStreamOptions, where: { bucket: string; key?: string }): Options {
  const check = (fn: () => void) => {
    try {
      fn()
    } catch (err) {
      if (err instanceof InvalidArgumentError) {
        throw new InvalidArgumentError(err.message, { ...where, ...(err.argument === undefined ? {} : { argument: err.argument }) })
      }
      throw err
    }
  }
  const partSize = opts.partSize ?? DEFAULT_PART_SIZE
  const queueSize = opts.queueSize ?? DEFAULT_QUEUE_SIZE
  const maxPartAttempts = opts.maxPartAttempts ?? DEFAULT_MAX_PART_ATTEMPTS
  check(() => validateInteger(partSize, 'partSize', MIN_PART_SIZE, MAX_PART_SIZE))
  check(() => validateInteger(queueSize, 'queueSize', 1))
  check(() => validateInteger(maxPartAttempts, 'maxPartAttempts', 1))
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') {
    throw new InvalidArgumentError(`Expected onProgress to be a function, got ${describeValue(opts.onProgress)}`, { ...where, argument: 'onProgress' })
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`Expected signal to be an AbortSignal, got ${describeValue(opts.signal)}`, { ...where, argument: 'signal' })
  }
  if (opts.contentMd5 !== undefined && typeof opts.contentMd5 !== 'boolean') {
    throw new InvalidArgumentError(`Expected contentMd5 to be a boolean, got ${describeValue(opts.contentMd5)}`, { ...where, argument: 'contentMd5' })
  }
  return { partSize, queueSize, maxPartAttempts, contentMd5: opts.contentMd5 ?? true }
}

/** Whether a failed request is worth sending again: network errors and timeouts, 5xx, throttling, BadDigest. */
function isRetryable(err: BucketflowError): boolean {
  return isTransient(err)
}

function backoff(attempt: number): number {
  const base = Math.min(5_000, 200 * 2 ** (attempt - 1))
  return base / 2 + Math.random() * (base / 2)
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64')

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

  /** The part being filled, and how much of it is filled. */
  #part: Buffer | undefined
  #filled = 0
  /** Part buffers free for reuse (at most queueSize + 1 ever exist). */
  readonly #pool: Buffer[] = []
  #partNumber = 0
  readonly #completed: CompletedPart[] = []
  #inflight = 0
  readonly #inflightPromises = new Set<Promise<void>>()
  #waiters: (() => void)[] = []
  #created: Promise<string> | undefined
  #createRetried: { anchor: number; callMs: number } | undefined
  #uploadId: string | undefined
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
    this.#onProgress = opts.onProgress
    const input: CreateMultipartUploadInput = { Bucket: ref.name, Key: key }
    if (opts.contentType !== undefined) input.ContentType = opts.contentType
    if (opts.contentEncoding !== undefined) input.ContentEncoding = opts.contentEncoding
    if (opts.metadata !== undefined) input.Metadata = opts.metadata
    if (opts.storageClass !== undefined) input.StorageClass = opts.storageClass
    this.#input = input
    this.done = new Promise<WriteStreamResult>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.done.catch(() => undefined)
    this.#signal = opts.signal
    this.#onAbort = () => this.destroy(new AbortError(`The upload to s3://${this.bucket}/${this.key} was aborted`, { ...this.#where(), cause: this.#signal?.reason }))
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
    return this.#uploadId
  }

  #where(): { bucket: string; key: string; uploadId?: string } {
    return { bucket: this.bucket, key: this.key, ...(this.#uploadId ? { uploadId: this.#uploadId } : {}) }
  }

  #progress(): void {
    if (!this.#onProgress) return
    try {
      this.#onProgress({ bytesWritten: this.#bytesWritten, bytesUploaded: this.#bytesUploaded, partsDone: this.#partsDone })
    } catch (err) {
      this.#fail(new BucketflowError(`onProgress of the upload to s3://${this.bucket}/${this.key} threw: ${err instanceof Error ? err.message : String(err)}`, { ...this.#where(), cause: err }, 'OnProgressError'))
    }
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  /** Resolves once fewer than `queueSize` parts are in flight, or the sink failed. */
  async #slot(): Promise<void> {
    while (this.#inflight >= this.queueSize && !this.#failure) await new Promise<void>((r) => this.#waiters.push(r))
  }

  /** Resolves once no part is in flight, or the sink failed. */
  async #drained(): Promise<void> {
    while (this.#inflight > 0 && !this.#failure) await new Promise<void>((r) => this.#waiters.push(r))
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
        this.#part = this.#pool.pop() ?? Buffer.allocUnsafeSlow(this.partSize)
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
        new InvalidArgumentError(
          `s3://${this.bucket}/${this.key} needs more than ${MAX_PARTS} parts of ${this.partSize} bytes; use a larger partSize`,
          { ...this.#where(), argument: 'partSize' },
        ),
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
        this.#pool.push(buffer)
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

  #create(): Promise<string> {
    // Not tied to the abort signal: if the sink is destroyed meanwhile, the upload is created,
    // then aborted, so no orphan is left behind.
    this.#created ??= (async () => {
      const started = Date.now()
      let out
      try {
        out = await transportOf(this.#ref).createMultipartUpload(this.#input)
      } catch (err) {
        throw toBucketflowError(err, { ...this.#where(), operation: 'CreateMultipartUpload' })
      }
      this.#uploadId = out.UploadId
      if (out.Attempts > 1) {
        // An earlier attempt timed out or was reset: the server may have created an upload whose
        // id never reached us. Note when ours was initiated (server time), to find it later.
        const anchor = (await this.#uploadsOfKey().catch(() => [])).find((u) => u.UploadId === out.UploadId)?.Initiated?.getTime()
        if (anchor !== undefined) this.#createRetried = { anchor, callMs: Date.now() - started }
      }
      return out.UploadId
    })()
    return this.#created
  }

  async #uploadsOfKey() {
    const out = await transportOf(this.#ref).listMultipartUploads({ Bucket: this.bucket, Prefix: this.key })
    return out.Uploads.filter((u) => u.Key === this.key)
  }

  /**
   * After a CreateMultipartUpload that needed retries: abort the uploads of this key the server
   * initiated during that call (within its duration plus a second of this upload's own
   * initiation), which only the attempts whose answers were lost can have made, unless another
   * writer started an upload of the same key in those same seconds.
   */
  async #abortLostCreates(): Promise<void> {
    const retried = this.#createRetried
    if (!retried) return
    this.#createRetried = undefined
    try {
      const margin = retried.callMs + 1000
      for (const u of await this.#uploadsOfKey()) {
        const at = u.Initiated?.getTime()
        if (u.UploadId === this.#uploadId || at === undefined || Math.abs(at - retried.anchor) > margin) continue
        await transportOf(this.#ref).abortMultipartUpload({ Bucket: this.bucket, Key: this.key, UploadId: u.UploadId }).catch(() => undefined)
      }
    } catch {
      // Best effort: abortUploads() or a lifecycle rule removes what is left.
    }
  }

  async #uploadPart(partNumber: number, body: Buffer): Promise<string> {
    const uploadId = await this.#create()
    const signal = this.#controller.signal
    const contentMd5 = this.#opts.contentMd5 ? md5(body) : undefined
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw this.#abortError()
      try {
        const out = await transportOf(this.#ref).uploadPart(
          {
            Bucket: this.bucket,
            Key: this.key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
            ...(contentMd5 ? { ContentMD5: contentMd5 } : {}),
          },
          { signal },
        )
        if (!out.ETag) {
          throw new BucketflowError(`UploadPart ${partNumber} of s3://${this.bucket}/${this.key} returned no ETag`, { ...this.#where(), partNumber }, 'NoETag')
        }
        return out.ETag
      } catch (err) {
        if (signal.aborted) throw this.#abortError()
        const typed = toBucketflowError(err, { ...this.#where(), partNumber, operation: 'UploadPart' })
        if (attempt >= this.#opts.maxPartAttempts || !isRetryable(typed)) throw typed
        this.#partRetries++
        await sleep(backoff(attempt), signal).catch(() => {
          throw this.#abortError()
        })
      }
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
      await this.#slot()
      if (this.#failure) throw this.#failure
      this.#seal()
    }
    await this.#drained()
    if (this.#failure) throw this.#failure
    const uploadId = this.#uploadId!
    const parts = [...this.#completed].sort((a, b) => a.PartNumber - b.PartNumber)
    // The ETag the completed object must have: md5 of the parts' MD5s, "-N" (undefined when a
    // part's ETag is not its MD5, as with SSE-KMS).
    const expected = multipartEtag(parts.map((p) => p.ETag))
    let completedEtag: string | undefined
    try {
      // A 200 whose body is an <Error> (or anything but the result) is turned into a retried
      // 503 by the client's result check; the SDK's retries of a lost answer may meet
      // NoSuchUpload (the first attempt completed it), settled below by a HEAD.
      const out = await transportOf(this.#ref).completeMultipartUpload(
        { Bucket: this.bucket, Key: this.key, UploadId: uploadId, Parts: parts },
        { signal: this.#controller.signal },
      )
      completedEtag = out.ETag || undefined
    } catch (err) {
      const typed = toBucketflowError(err, { ...this.#where(), operation: 'CompleteMultipartUpload' }, this.#controller.signal)
      if (typed instanceof AbortError) throw typed
      // Did an attempt whose answer was lost complete it? Only an object that is provably the
      // one these parts make counts: its ETag is the expected one (or, when that cannot be
      // computed, ends in -<parts> with the size written, after a NoSuchUpload).
      const proven = await this.#provenComplete(expected, parts.length, typed.code === 'NoSuchUpload')
      if (!proven) throw typed
      completedEtag = proven
    }
    // The upload no longer exists: from here on there is nothing to abort.
    this.#finished = true
    // Some servers (radosgw) answer CompleteMultipartUpload with an empty ETag: take size and
    // ETag from a HEAD, and check them against what was written.
    // Write-only credentials (a log shipper's, say) may not HEAD: then the object is complete and
    // every part was checked (Content-MD5); only this final check is skipped.
    let size = this.#bytesWritten
    let etag = completedEtag ?? ''
    let headed = true
    try {
      // A HEAD without an ETag says nothing about whose object it is: ask again.
      for (let attempt = 1; ; attempt++) {
        ;({ size, etag } = await headObject(this.#ref, this.key))
        if (etag !== '' || attempt >= clientSettings(this.#ref.client).maxAttempts) break
      }
    } catch (err) {
      if (!(err instanceof AccessDeniedError) || completedEtag === undefined) throw err
      headed = false
    }
    const ours = expected !== undefined && sameEtag(etag, expected)
    // No ETag at all (a server or proxy that drops it): Complete's result element is the proof
    // that the upload completed; only the size is checked.
    if (headed && etag === '') etag = completedEtag ?? ''
    if (headed && expected !== undefined && !ours && etag !== '') {
      // Complete's own answer named our object: it was completed, and replaced since.
      if (completedEtag !== undefined && sameEtag(completedEtag, expected)) {
        size = this.#bytesWritten
        etag = completedEtag
      } else {
        throw new IntegrityError(
          `The object under s3://${this.bucket}/${this.key} after CompleteMultipartUpload has ETag ${etag}, not ${expected} (the parts written); it was left as it is`,
          { ...this.#where(), algorithm: 'etag', expected, actual: etag },
        )
      }
    }
    if (headed && size !== this.#bytesWritten) {
      // Only an object provably ours (its ETag is the one our parts make) is removed.
      if (ours) await transportOf(this.#ref).deleteObject({ Bucket: this.bucket, Key: this.key, IfMatch: etag }).catch(() => undefined)
      throw new IntegrityError(
        `Wrote ${this.#bytesWritten} bytes to s3://${this.bucket}/${this.key} but the completed object has ${size}${ours ? '; the object was deleted' : ''}`,
        { ...this.#where(), algorithm: 'size', expected: String(this.#bytesWritten), actual: String(size) },
      )
    }
    if (!headed && expected !== undefined && completedEtag !== undefined && !sameEtag(completedEtag, expected)) {
      throw new IntegrityError(`CompleteMultipartUpload of s3://${this.bucket}/${this.key} answered ETag ${completedEtag}, not ${expected} (the parts written)`, {
        ...this.#where(),
        algorithm: 'etag',
        expected,
        actual: completedEtag,
      })
    }
    await this.#abortLostCreates()
    this.#progress()
    this.#pool.length = 0
    return { key: this.key, size, etag, parts: parts.length, verified: this.#verifiedBy() }
  }

  #verifiedBy(): 'md5' | 'crc32' | 'none' {
    return this.#opts.contentMd5 ? 'md5' : this.#sdkChecksums ? 'crc32' : 'none'
  }

  /**
   * After a failed CompleteMultipartUpload: the ETag of the object under the key when it is
   * provably the one this upload's parts make, else undefined.
   */
  async #provenComplete(expected: string | undefined, parts: number, noSuchUpload: boolean): Promise<string | undefined> {
    let head
    try {
      head = await headObject(this.#ref, this.key, { signal: this.#controller.signal })
    } catch {
      return undefined
    }
    if (expected !== undefined) return sameEtag(head.etag, expected) ? head.etag : undefined
    const mp = multipartEtagParts(head.etag)
    return noSuchUpload && mp?.parts === parts && head.size === this.#bytesWritten ? head.etag : undefined
  }

  /** The whole stream fits in one part: one PutObject, no multipart upload. */
  async #putWhole(): Promise<WriteStreamResult> {
    const body = this.#part ? this.#part.subarray(0, this.#filled) : Buffer.alloc(0)
    const contentMd5 = this.#opts.contentMd5 ? md5(body) : undefined
    const signal = this.#controller.signal
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await transportOf(this.#ref).putObject(
          { ...this.#input, Body: body, ContentLength: body.length, ...(contentMd5 ? { ContentMD5: contentMd5 } : {}) },
          { signal },
        )
        const stored = plainMd5(out.ETag)
        if (contentMd5 && stored !== undefined && out.ServerSideEncryption !== 'aws:kms' && out.ServerSideEncryption !== 'aws:kms:dsse') {
          const sent = Buffer.from(contentMd5, 'base64').toString('hex')
          if (stored !== sent) {
            throw new IntegrityError(`PutObject s3://${this.bucket}/${this.key} answered ETag ${out.ETag}, not the MD5 of the bytes sent (${sent})`, {
              ...this.#where(),
              algorithm: 'md5',
              expected: sent,
              actual: stored,
            })
          }
        }
        this.#bytesUploaded = body.length
        this.#buffered = 0
        this.#part = undefined
        this.#pool.length = 0
        this.#progress()
        return { key: this.key, size: body.length, etag: out.ETag ?? '', parts: 0, verified: this.#verifiedBy() }
      } catch (err) {
        if (signal.aborted) throw this.#abortError()
        const typed = toBucketflowError(err, { ...this.#where(), operation: 'PutObject' })
        if (attempt >= this.#opts.maxPartAttempts || !isRetryable(typed)) throw typed
        this.#partRetries++
        await sleep(backoff(attempt), signal).catch(() => {
          throw this.#abortError()
        })
      }
    }
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
      this.#pool.length = 0
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
    if (!this.#created) return
    let uploadId: string
    try {
      uploadId = await this.#created
    } catch {
      return
    }
    let lastError: unknown
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await transportOf(this.#ref).abortMultipartUpload({ Bucket: this.bucket, Key: this.key, UploadId: uploadId })
        await this.#abortLostCreates()
        return
      } catch (err) {
        const typed = toBucketflowError(err, { ...this.#where(), operation: 'AbortMultipartUpload' })
        if (typed.code === 'NoSuchUpload') {
          await this.#abortLostCreates()
          return
        }
        lastError = typed
        await new Promise((r) => setTimeout(r, backoff(attempt)))
      }
    }
    process.emitWarning(
      `Could not abort multipart upload ${uploadId} of s3://${this.bucket}/${this.key}: ${(lastError as Error).message}; remove it with abortUploads()`,
      { code: 'BUCKETFLOW_ORPHAN_UPLOAD' },
    )
  }
}

/**
 * A Writable that uploads everything written to it as the object `key`, in parts of `partSize`
 * (default 8 MiB, at least 5 MiB), `queueSize` (default 4) at once. Memory: at most
 * `partSize * (queueSize + 1)` bytes of payload (40 MiB with the defaults). Await `stream.done`
 * for `{ key, size, etag, parts }`; 'finish' is emitted only after the object is complete.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * const sink = createWriteStream(bucket, 'dumps/2024.sql.gz', { partSize: 16 * 1024 * 1024, queueSize: 2 })
 * await pipeline(process.stdin, sink)
 * console.log((await sink.done).size)
 * ```
 */
export function createWriteStream(ref: BucketRef, key: string, opts: WriteStreamOptions = {}): MultipartSink {
  return new MultipartSink(ref, key, opts)
}

/**
 * Upload a stream of unknown length: a Node Readable, an AsyncIterable of Uint8Array or string
 * chunks, or a web ReadableStream, piped into {@link createWriteStream} with
 * `stream/promises.pipeline`. Resolves to `{ key, size, etag, parts }` once the object is
 * complete and verified; on failure rejects after the multipart upload was aborted (an error of
 * the source itself as a {@link SourceError} whose `cause` is the original). Memory:
 * `partSize * (queueSize + 1)`.
 *
 * @example
 * ```ts
 * async function* rows() {
 *   for await (const row of db.query('select * from events')) yield JSON.stringify(row) + '\n'
 * }
 * const { size } = await putStream(bucket, rows(), 'exports/events.ndjson', { contentType: 'application/x-ndjson' })
 * ```
 */
export async function putStream(ref: BucketRef, source: StreamSource, key: string, opts: WriteStreamOptions = {}): Promise<WriteStreamResult> {
  const sink = createWriteStream(ref, key, opts)
  let readable
  try {
    readable = toReadable(source, key)
  } catch (err) {
    sink.destroy()
    throw err
  }
  try {
    await pipeline(readable, sink)
  } catch (err) {
    // `done` settles after the multipart upload was aborted.
    await sink.done.catch(() => undefined)
    throw sourceError(err, { bucket: ref.name, key }) ?? toBucketflowError(err, { bucket: ref.name, key, operation: 'Upload' }, opts.signal)
  }
  return sink.done
}

const sameEtag = (a: string, b: string) => a.replace(/"/g, '') === b.replace(/"/g, '')
