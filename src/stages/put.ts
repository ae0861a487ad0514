/**
 * Uploads: one object (`putObject`) or a stream of them (`putObjects`, a stage).
 *
 * @example
 * ```ts
 * import { putObjects } from 'bucketflow'
 * const items = ['a.csv', 'b.csv'].map((name) => ({ source: `./data/${name}`, key: `raw/${name}` }))
 * for await (const r of putObjects(bucket, { concurrency: 16 })(items)) {
 *   if (!r.ok) console.error(r.key, r.error.message)
 * }
 * ```
 * @packageDocumentation
 */
import { delay } from '../util/abort.js'
import { halfJitter } from '../util/retry.js'
import { createHash } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { transportOf, type BucketRef, type StorageClass } from '../bucket-ref.js'
import { prepareBody, sourceError, type PutSource } from '../body.js'
import { plainMd5 } from '../checksums.js'
import { clientSettings } from '../client.js'
import { type BucketflowError, IntegrityError, isTransient, toBucketflowError } from '../errors.js'
import { createWriteStream, validateWriteStreamOptions } from '../upload/multipart.js'
import { contentTypeOf } from '../mime.js'
import type { Result, StageOptions } from '../results.js'
import type { PutObjectInput } from '../transport/types.js'
import { validateKey } from '../validate.js'
import { createStage } from './factory.js'

/** Options for uploads. */
export interface PutOptions {
  /** Treat a string source as the object's content, not a file path (hostess `literal_str`). */
  literal?: boolean
  /** Content type of the object. Default: from a file path's extension ({@link contentTypeOf}), else none. */
  contentType?: string
  /** `Content-Encoding` of the object, e.g. `gzip` for bytes that are gzip-compressed (readers then know to decompress them). */
  contentEncoding?: string
  /** User metadata: names must be HTTP tokens; values that a header cannot carry are sent RFC 2047-encoded (see encodeMetadata). */
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
  /**
   * What the server checked the bytes against: `md5` (a Content-MD5 on the request, or on each
   * part), `crc32` (the SDK's flexible checksum, on AWS), `none` (neither).
   */
  verified?: 'md5' | 'crc32' | 'none'
}

function baseInput(ref: BucketRef, key: string, opts: PutOptions): Omit<PutObjectInput, 'Body'> {
  const input: Omit<PutObjectInput, 'Body'> = { Bucket: ref.name, Key: key }
  if (opts.contentType !== undefined) input.ContentType = opts.contentType
  if (opts.contentEncoding !== undefined) input.ContentEncoding = opts.contentEncoding
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
 * import { createReadStream } from 'node:fs'
 * await putObject(bucket, createReadStream('big.csv'), 'raw/big.csv', { partSize: 16 * 1024 * 1024 })
 * ```
 */
export async function putObject(ref: BucketRef, source: PutSource, key: string, opts: PutOptions = {}): Promise<PutResult> {
  validateKey(key, ref.name)
  const where = { bucket: ref.name, key }
  // Checked before the source is opened or read: a stream is not consumed for nothing.
  if (opts.metadata !== undefined) validateWriteStreamOptions({ metadata: opts.metadata }, where)
  const body = await prepareBody(source, opts.literal ?? false, key)
  if (opts.contentType === undefined && typeof source === 'string' && !opts.literal) {
    const guessed = contentTypeOf(source)
    if (guessed !== undefined) opts = { ...opts, contentType: guessed }
  }
  const input = baseInput(ref, key, opts)
  const abortSignal = opts.signal
  if (body.kind === 'bytes') return putBytes(ref, key, body.bytes, input, abortSignal)
  // Streams and large files: the bounded-memory multipart sink (a single PutObject when the
  // stream turns out smaller than one part). It aborts its upload on any failure and checks the
  // completed object against the parts it sent.
  let sink
  try {
    sink = createWriteStream(ref, key, {
      ...(opts.partSize !== undefined ? { partSize: opts.partSize } : {}),
      ...(opts.queueSize !== undefined ? { queueSize: opts.queueSize } : {}),
      ...(opts.contentType !== undefined ? { contentType: opts.contentType } : {}),
      ...(opts.contentEncoding !== undefined ? { contentEncoding: opts.contentEncoding } : {}),
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
    throw sourceError(err, where) ?? toBucketflowError(err, { ...where, operation: 'Upload' }, abortSignal)
  }
  const { size, etag, verified } = await sink.done
  return { key, size, etag, ...(verified ? { verified } : {}) }
}

/**
 * One PutObject of bytes held in memory, with a Content-MD5 (unless the SDK adds its own
 * checksum, on AWS) so the server rejects a body corrupted on the way (`BadDigest`); such a
 * rejection, like any transient failure, is sent again from the same bytes, up to the client's
 * `maxAttempts` times beyond the SDK's own retries. The ETag of the answer, when it is a plain
 * MD5, must be the MD5 sent.
 */
async function putBytes(ref: BucketRef, key: string, bytes: Uint8Array, input: Omit<PutObjectInput, 'Body'>, signal?: AbortSignal): Promise<PutResult> {
  const where = { bucket: ref.name, key }
  const settings = clientSettings(ref.client)
  const transport = transportOf(ref)
  // The SDK adds its own CRC32 where it computes flexible checksums; elsewhere (and on the fast
  // transport, always) the body carries its MD5, which also proves the answer's ETag.
  const md5 = settings.sdkChecksums && transport.kind === 'sdk' ? undefined : createHash('md5').update(bytes).digest()
  const request = (): PutObjectInput => ({ ...input, Body: bytes, ContentLength: bytes.byteLength, ...(md5 ? { ContentMD5: md5.toString('base64') } : {}) })
  for (let attempt = 1; ; attempt++) {
    let typed: BucketflowError
    try {
      const out = await transport.putObject(request(), signal ? { signal } : {})
      const etag = out.ETag ?? ''
      const stored = plainMd5(etag)
      if (
        md5 &&
        stored !== undefined &&
        out.ServerSideEncryption !== 'aws:kms' &&
        out.ServerSideEncryption !== 'aws:kms:dsse' &&
        stored !== md5.toString('hex')
      ) {
        throw new IntegrityError(`PutObject s3://${ref.name}/${key} answered ETag ${etag}, not the MD5 of the bytes sent (${md5.toString('hex')})`, {
          ...where,
          algorithm: 'md5',
          expected: md5.toString('hex'),
          actual: stored,
        })
      }
      return { key, size: bytes.byteLength, etag, verified: md5 ? 'md5' : settings.sdkChecksums ? 'crc32' : 'none' }
    } catch (err) {
      typed = toBucketflowError(err, { ...where, operation: 'PutObject' }, signal)
    }
    if (attempt >= settings.maxAttempts || !isTransient(typed)) throw typed
    await delay(halfJitter(attempt + 1, 100, 2_000), undefined)
  }
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
export function putObjects(
  ref: BucketRef,
  options: StageOptions & PutOptions = {},
): (source: AsyncIterable<PutItem> | Iterable<PutItem>) => AsyncGenerator<Result<PutResult>> {
  return createStage<PutItem, PutResult>(ref, options, {
    // The part options of streamed sources, checked once for the call (as the sink would per item).
    validate: () =>
      validateWriteStreamOptions(
        {
          ...(options.partSize !== undefined ? { partSize: options.partSize } : {}),
          ...(options.queueSize !== undefined ? { queueSize: options.queueSize } : {}),
        },
        { bucket: ref.name },
      ),
    keyOf: (item) => item.key,
    run: (item, signal) => putObject(ref, item.source, item.key, { ...options, ...item.options, signal }),
  })
}
