/**
 * The upload queue of a spooled rotating log stream: sealed segments (and those a stopped
 * process left) are uploaded from their files one at a time, in key order, with a HEAD first
 * when the object may be stored already; a failure that may heal is retried with backoff, one
 * that cannot stops the stream (the spool keeps the data). Also the one place objects' writers
 * are made, for the stream and the queue alike.
 *
 * @packageDocumentation
 */
import type { BucketRef } from '../bucket-ref.js'
import {
  AbortError,
  AccessDeniedError,
  BucketflowError,
  IntegrityError,
  InvalidArgumentError,
  NoSuchBucketError,
  NoSuchKeyError,
  toBucketflowError,
} from '../errors.js'
import { headObject } from '../stages/head.js'
import { sleep } from '../transport/retry.js'
import { LinesObjectWriter, type ObjectBuild, type ObjectWriter, type SchemaHolder, type StoredLogObject } from './log-objects.js'
import type { WriteStreamOptions } from '../upload/multipart.js'
import { segmentContent, type SegmentHeader, type Spool } from './spool.js'
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '../aws-sdk.cjs'

/** The metadata naming the spool segment an object was written from (`<spool id>/<segment>`). */
export const META_SPOOL = 'bucketflow-spool'

/** A segment waiting to be uploaded from its file. */
export interface UploadJob {
  name: string
  path: string
  header: SegmentHeader
  includePending: boolean
  expectBytes: number | undefined
  fileBytes: number
  recovered: boolean
  /** HEAD before uploading: the object may be stored already. */
  check: boolean
}

/** How one object's writer differs from the stream's defaults. */
export interface WriterExtra {
  recovered: boolean
  metadata?: Record<string, string>
  skipMain?: boolean
  skipErrors?: boolean
  maxPartAttempts?: number
}

/** The Parquet builder's module (and with it Arrow), loaded only for a Parquet log. */
export type ParquetModule = typeof import('./log-parquet.js')

/** Loads the Parquet builder and checks a given schema with it (the full check needs Arrow). */
export async function loadParquetBuilder(schema: SchemaHolder): Promise<ParquetModule> {
  const parquet: ParquetModule = await import('./log-parquet.js')
  if (schema.schema !== undefined) parquet.validateLogSchema(schema.schema)
  return parquet
}

/**
 * The writer of one object (lines, compressed or not, or Parquet with its error object).
 * `parquet` is the loaded Parquet builder, required when `build.format` is 'parquet'.
 */
export function createObjectWriter(
  ref: BucketRef,
  base: WriteStreamOptions,
  schema: SchemaHolder,
  key: string,
  build: ObjectBuild,
  extra: WriterExtra,
  parquet?: ParquetModule,
): ObjectWriter {
  const metadata = extra.metadata || base.metadata ? { ...base.metadata, ...extra.metadata } : undefined
  const sinkOptions: WriteStreamOptions = {
    ...base,
    ...(metadata ? { metadata } : {}),
    ...(build.contentType ? { contentType: build.contentType } : {}),
    ...(extra.maxPartAttempts !== undefined ? { maxPartAttempts: extra.maxPartAttempts } : {}),
  }
  if (build.format === 'parquet') {
    if (parquet === undefined) throw new Error('the Parquet builder was not loaded before the first Parquet object')
    return new parquet.ParquetObjectWriter(ref, key, {
      build,
      sinkOptions,
      schema,
      recovered: extra.recovered,
      skipParquet: extra.skipMain ?? false,
      skipErrors: extra.skipErrors ?? false,
    })
  }
  return new LinesObjectWriter(ref, key, {
    compression: build.compression,
    ...(build.level !== undefined ? { level: build.level } : {}),
    sinkOptions,
    recovered: extra.recovered,
  })
}

const TRANSIENT_CODES = new Set([
  'SlowDown',
  'RequestTimeout',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'BadDigest',
  'IncompleteBody',
])
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH'])

/**
 * Whether waiting may heal an upload failure (network, 5xx, throttling). Otherwise (access
 * denied, no such bucket, bad input, a damaged spool file, a key taken by another object) the
 * stream stops and the spool keeps the data for the next run.
 */
function isTransient(err: unknown): boolean {
  if (err instanceof AbortError || err instanceof InvalidArgumentError || err instanceof IntegrityError) return false
  if (err instanceof AccessDeniedError || err instanceof NoSuchBucketError) return false
  if (err instanceof BucketflowError) {
    if (err.code === 'KeyConflict' || err.code === 'SpoolClosed') return false
    const status = err.statusCode
    if (status === undefined) return true
    return status >= 500 || status === 429 || status === 408 || TRANSIENT_CODES.has(err.code)
  }
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && NETWORK_CODES.has(code)
}

/** What the queue reports to its stream. */
export interface UploadHost {
  createWriter(key: string, build: ObjectBuild, extra: WriterExtra): ObjectWriter
  /** Objects stored. */
  record(objects: StoredLogObject[]): void
  /** An object finished from a segment an earlier process left. */
  recovered(): void
  /** Before an upload is tried again. */
  retry(info: { key: string; attempt: number; error: unknown; delayMs: number }): void
  /** A failure that cannot heal: the stream stops. */
  fail(err: Error): void
}

/**
 * Uploads queued segments one at a time, in order. Memory: one object at a time, a 1 MiB read
 * buffer, its compressor (or Parquet writer) and one multipart sink bound.
 */
export class UploadQueue {
  readonly #ref: BucketRef
  readonly #bucket: string
  readonly #spool: Spool
  readonly #signal: AbortSignal
  readonly #host: UploadHost
  readonly #queue: UploadJob[] = []
  #worker: Promise<void> | undefined
  #writer: ObjectWriter | undefined

  constructor(ref: BucketRef, spool: Spool, signal: AbortSignal, host: UploadHost) {
    this.#ref = ref
    this.#bucket = ref.name
    this.#spool = spool
    this.#signal = signal
    this.#host = host
  }

  /** Segments queued (the one being uploaded included). */
  get length(): number {
    return this.#queue.length
  }
  /** The running upload loop, if any (settles when the queue is empty or stopped). */
  get worker(): Promise<void> | undefined {
    return this.#worker
  }
  /** The writer of the object being uploaded, if any. */
  get writer(): ObjectWriter | undefined {
    return this.#writer
  }

  enqueue(job: UploadJob): void {
    this.#queue.push(job)
    this.#worker ??= this.#work().finally(() => {
      this.#worker = undefined
    })
  }

  /** Settles once nothing is queued (or the queue stopped). */
  async drained(): Promise<void> {
    while (this.#worker) await this.#worker
  }

  /** Upload queued segments one at a time, in order; a failure that cannot heal destroys the stream. */
  async #work(): Promise<void> {
    const signal = this.#signal
    while (this.#queue.length > 0 && !signal.aborted) {
      const job = this.#queue[0]!
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#upload(job)
          break
        } catch (err) {
          if (signal.aborted) return
          if (!isTransient(err)) {
            this.#host.fail(err as Error)
            return
          }
          // The object may have been stored before the failure was seen: look first next time.
          job.check = true
          const delayMs = Math.min(30_000, 250 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2)
          this.#host.retry({ key: job.header.key, attempt, error: err, delayMs })
          // An abort ends the wait early (and the loop below): not an error of the upload.
          await sleep(delayMs, signal).catch(() => undefined)
          if (signal.aborted) return
        }
      }
      this.#queue.shift()
    }
  }

  /** True when `key` is stored already from this segment; throws when another object holds the key. */
  async #storedFrom(key: string, job: UploadJob): Promise<boolean> {
    const tag = `${this.#spool.id}/${job.name}`
    try {
      const info = await headObject(this.#ref, key, { signal: this.#signal })
      if (info.metadata[META_SPOOL] === tag) return true
      throw new BucketflowError(
        `s3://${this.#bucket}/${key} exists and was not written from spool segment ${tag}; not overwriting it (move it away, or use another key template)`,
        { bucket: this.#bucket, key },
        'KeyConflict',
      )
    } catch (err) {
      if (err instanceof NoSuchKeyError) return false
      // Credentials that may only write: upload again under the same key (the same lines).
      if (err instanceof AccessDeniedError) return false
      throw err
    }
  }

  /** Abort multipart uploads of `key` left by a process that stopped in the middle of one. */
  async #abortOrphans(key: string): Promise<void> {
    try {
      const out = await this.#ref.client.send(new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: key }), { abortSignal: this.#signal })
      for (const u of out.Uploads ?? []) {
        if (u.Key !== key || !u.UploadId) continue
        await this.#ref.client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: u.UploadId }), { abortSignal: this.#signal })
      }
    } catch (err) {
      const typed = toBucketflowError(err, { bucket: this.#bucket, key, operation: 'ListMultipartUploads' })
      if (!(typed instanceof AccessDeniedError)) throw typed
    }
  }

  async #upload(job: UploadJob): Promise<void> {
    const build = job.header.build as unknown as ObjectBuild
    const key = job.header.key
    let skipMain = false
    let skipErrors = false
    if (job.check) {
      skipMain = await this.#storedFrom(key, job)
      if (build.format === 'parquet' && build.errorKey) skipErrors = await this.#storedFrom(build.errorKey, job)
      if (!skipMain) await this.#abortOrphans(key)
      if (build.errorKey && !skipErrors) await this.#abortOrphans(build.errorKey)
    }
    if (!(skipMain && (build.format === 'lines' || skipErrors))) {
      const writer = this.#host.createWriter(key, build, {
        recovered: job.recovered,
        metadata: { [META_SPOOL]: `${this.#spool.id}/${job.name}` },
        skipMain,
        skipErrors,
      })
      this.#writer = writer
      try {
        for await (const piece of segmentContent(job.path, job.includePending, job.expectBytes)) {
          if (this.#signal.aborted) throw this.#signal.reason
          await writer.write(piece)
        }
        writer.seal()
        const objects = await writer.end()
        this.#host.record(objects)
      } catch (err) {
        await writer.destroy(err as Error)
        throw err
      } finally {
        this.#writer = undefined
      }
    }
    if (job.recovered) this.#host.recovered()
    await this.#spool.remove(job.path, job.fileBytes)
  }
}
