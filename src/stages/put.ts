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
import { HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { Readable } from 'node:stream'
import type { BucketRef, StorageClass } from '../bucket-ref.js'
import { prepareBody, type PutSource } from '../body.js'
import { IntegrityError, toBucketflowError } from '../errors.js'
import { mapResults, type Result, type StageOptions } from '../results.js'
import { validateKey } from '../validate.js'

/** Options for uploads. */
export interface PutOptions {
  /** Treat a string source as the object's content, not a file path (hostess `literal_str`). */
  literal?: boolean
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
 * through a multipart upload that is aborted if anything fails (nothing is left behind).
 * Memory: bytes sources are sent as they are; streamed sources hold at most
 * `partSize * (queueSize + 1)` bytes.
 */
export async function putObject(ref: BucketRef, source: PutSource, key: string, opts: PutOptions = {}): Promise<PutResult> {
  validateKey(key, ref.name)
  const where = { bucket: ref.name, key }
  const body = await prepareBody(source, opts.literal ?? false, key)
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
  let sent = 0
  const counted = Readable.from(
    (async function* () {
      for await (const chunk of body.stream as AsyncIterable<Uint8Array>) {
        sent += chunk.byteLength
        yield chunk
      }
    })(),
    { objectMode: false },
  )
  const upload = new Upload({
    client: ref.client,
    params: { ...input, Body: counted },
    partSize: opts.partSize ?? 8 * 1024 * 1024,
    queueSize: opts.queueSize ?? 4,
    leavePartsOnError: false,
    ...(abortSignal ? { abortController: linkedController(abortSignal) } : {}),
  })
  try {
    await upload.done()
  } catch (err) {
    body.stream.destroy()
    throw toBucketflowError(err, { ...where, operation: 'Upload' })
  }
  // Some servers answer CompleteMultipartUpload with an empty ETag: take size and ETag from HEAD.
  const head = await ref.client
    .send(new HeadObjectCommand({ Bucket: ref.name, Key: key }))
    .catch((err: unknown) => Promise.reject(toBucketflowError(err, { ...where, operation: 'HeadObject' })))
  const size = head.ContentLength ?? 0
  if (size !== sent) {
    throw new IntegrityError(`Uploaded ${sent} bytes to s3://${ref.name}/${key} but the object has ${size}`, where)
  }
  return { key, size, etag: head.ETag ?? '' }
}

function linkedController(signal: AbortSignal): AbortController {
  const controller = new AbortController()
  if (signal.aborted) controller.abort(signal.reason)
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true })
  return controller
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
