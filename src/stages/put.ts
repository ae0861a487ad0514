/**
 * Uploads: one object (`putObject`) or a stream of them (`putObjects`, a stage).
 *
 * @example
 * ```ts
 * import { pipe } from 'it-pipe'
 * import { putObjects } from 'bucketflow'
 * for await (const r of putObjects(bucket, { concurrency: 16 })(items)) {
 *   if (!r.ok) console.error(r.key, r.error.message)
 * }
 * ```
 * @packageDocumentation
 */
import { pipeline } from 'node:stream/promises'
import { PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3'
import type { BucketRef, StorageClass } from '../bucket-ref.js'
import { prepareBody, type PutSource } from '../body.js'
import { toBucketflowError } from '../errors.js'
import { createWriteStream } from '../sinks/multipart.js'
import { contentTypeOf } from '../mime.js'
import { mapResults, type Result, type StageOptions } from '../results.js'
import { validateKey } from '../validate.js'

/** Options for uploads. */
export interface PutOptions {
  /** Treat a string source as the object's content, not a file path (hostess `literal_str`). */
  literal?: boolean
  /** Content type of the object. Default: from a file path's extension ({@link contentTypeOf}), else none. */
  contentType?: string
  metadata?: Record<string, string>
  storageClass?: StorageClass
  signal?: AbortSignal
  /** Part size for sources uploaded in parts (streams, files over 16 MiB). Default 8 MiB. */
  partSize?: number
  /** Parts in flight for one streamed upload. Default 4. */
  queueSize?: number
}

/** What an upload produced. */
export interface PutResult {
  key: string
  /** Bytes stored. */
  size: number
  etag: string
}

function baseInput(ref: BucketRef, key: string, opts: PutOptions): PutObjectCommandInput {
  const input: PutObjectCommandInput = { Bucket: ref.name, Key: key }
  if (opts.contentType !== undefined) input.ContentType = opts.contentType
  if (opts.metadata !== undefined) input.Metadata = opts.metadata
  if (opts.storageClass !== undefined) input.StorageClass = opts.storageClass
  return input
}

/**
 * Upload one object. Bytes and small files go in one PutObject; streams and large files go
 * through the multipart sink ({@link createWriteStream}), whose upload is aborted if anything
 * fails (nothing is left behind). Memory: bytes sources are sent as they are; streamed sources
 * hold at most `partSize * (queueSize + 1)` bytes.
 *
 * @example
 * ```ts
 * await putObject(bucket, createReadStream('big.csv'), 'raw/big.csv', { partSize: 16 * 1024 * 1024 })
 * ```
 */
export async function putObject(ref: BucketRef, source: PutSource, key: string, opts: PutOptions = {}): Promise<PutResult> {
  validateKey(key, ref.name)
  const where = { bucket: ref.name, key }
  const body = await prepareBody(source, opts.literal ?? false, key)
  if (opts.contentType === undefined && typeof source === 'string' && !opts.literal) {
    const guessed = contentTypeOf(source)
    if (guessed !== undefined) opts = { ...opts, contentType: guessed }
  }
  const input = baseInput(ref, key, opts)
  const abortSignal = opts.signal
  if (body.kind === 'bytes') {
    try {
      const out = await ref.client.send(
        new PutObjectCommand({ ...input, Body: body.bytes, ContentLength: body.bytes.byteLength }),
        abortSignal ? { abortSignal } : {},
      )
      return { key, size: body.bytes.byteLength, etag: out.ETag ?? '' }
    } catch (err) {
      throw toBucketflowError(err, { ...where, operation: 'PutObject' })
    }
  }
  // Streams and large files: the bounded-memory multipart sink (a single PutObject when the
  // stream turns out smaller than one part). It aborts its upload on any failure and checks the
  // completed object's size against the bytes written.
  let sink
  try {
    sink = createWriteStream(ref, key, {
    ...(opts.partSize !== undefined ? { partSize: opts.partSize } : {}),
    ...(opts.queueSize !== undefined ? { queueSize: opts.queueSize } : {}),
    ...(opts.contentType !== undefined ? { contentType: opts.contentType } : {}),
    ...(opts.metadata !== undefined ? { metadata: opts.metadata } : {}),
    ...(opts.storageClass !== undefined ? { storageClass: opts.storageClass } : {}),
    ...(abortSignal ? { signal: abortSignal } : {}),
    })
  } catch (err) {
    body.stream.destroy()
    throw err
  }
  try {
    await pipeline(body.stream, sink)
  } catch (err) {
    await sink.done.catch(() => undefined)
    throw toBucketflowError(err, { ...where, operation: 'Upload' })
  }
  const { size, etag } = await sink.done
  return { key, size, etag }
}

/** One item for {@link putObjects}: a source and the key to store it under. */
export interface PutItem {
  source: PutSource
  key: string
  /** Per-item overrides. */
  options?: PutOptions
}

/**
 * A stage that uploads each `{ source, key }` it receives, `concurrency` at a time, and yields
 * one result per item (in input order unless `ordered: false`).
 * Memory: at most `concurrency` sources are read or held at once.
 *
 * @example
 * ```ts
 * const items = [{ source: Buffer.from('a'), key: 'a.txt' }, { source: './b.csv', key: 'b.csv' }]
 * for await (const r of putObjects(bucket)(items)) console.log(r.key, r.ok)
 * ```
 */
export function putObjects(ref: BucketRef, options: StageOptions & PutOptions = {}) {
  return (source: AsyncIterable<PutItem> | Iterable<PutItem>): AsyncGenerator<Result<PutResult>> =>
    mapResults(
      source,
      (item) => item.key,
      (item, signal) => putObject(ref, item.source, item.key, { ...options, ...item.options, signal }),
      { concurrency: ref.concurrency ?? 8, ...options, bucket: ref.name },
    )
}
