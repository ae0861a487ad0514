/**
 * The options of the multipart sink, their defaults and limits, and their validation.
 *
 * @packageDocumentation
 */
import type { StorageClass } from '../../bucket-ref.js'
import { InvalidArgumentError } from '../../errors.js'
import { describeValue, validateInteger } from '../../validate.js'
import { encodeMetadata } from '../../metadata.js'

const MiB = 1024 * 1024
/**
 * Default part size: 8 MiB.
 *
 * @example
 * ```ts
 * const sink = bucket.createWriteStream('big.bin', { partSize: 4 * DEFAULT_PART_SIZE }) // 32 MiB parts
 * ```
 */
export const DEFAULT_PART_SIZE = 8 * MiB
/**
 * Smallest part size S3 accepts (for every part but the last): 5 MiB.
 *
 * @example
 * ```ts
 * declare const expectedBytes: number
 * const partSize = Math.max(MIN_PART_SIZE, Math.ceil(expectedBytes / 1000))
 * ```
 */
export const MIN_PART_SIZE = 5 * MiB
/**
 * Largest part size S3 accepts: 5 GiB.
 *
 * @example
 * ```ts
 * declare const expectedBytes: number
 * const partSize = Math.min(MAX_PART_SIZE, Math.ceil(expectedBytes / MAX_PARTS))
 * ```
 */
export const MAX_PART_SIZE = 5 * 1024 * MiB
/**
 * Most parts one multipart upload may have; with `partSize` it caps an object at
 * `partSize * MAX_PARTS` bytes (80,000 MiB at the default 8 MiB).
 *
 * @example
 * ```ts
 * const largest = DEFAULT_PART_SIZE * MAX_PARTS // the biggest stream the default settings take
 * ```
 */
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

export interface Options {
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

export function validateOptions(opts: WriteStreamOptions, where: { bucket: string; key?: string }): Options {
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
  if (opts.metadata !== undefined) check(() => encodeMetadata(opts.metadata!))
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
