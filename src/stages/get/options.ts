/**
 * Download options: their defaults, validation, and the typed error for a failure.
 */
import type { BucketRef } from '../../bucket-ref.js'
import type { Verification } from '../../checksums.js'
import { AbortError, BucketflowError, InvalidArgumentError, toBucketflowError } from '../../errors.js'
import { normalizeRange, type ByteRange, type Slice, type Where } from '../../ranges.js'
import { linkedController } from '../../results.js'
import { describeValue, validateInteger, validateKey } from '../../validate.js'
export const MiB = 1024 * 1024
/** Default bytes per ranged GET of a large download: 8 MiB. */
export const DEFAULT_GET_PART_SIZE = 8 * MiB
/** Smallest `partSize` for downloads: 1 MiB. */
export const MIN_GET_PART_SIZE = MiB
/** Largest `partSize` for downloads: 1 GiB (a part is one Buffer when streaming). */
export const MAX_GET_PART_SIZE = 1024 * MiB
/** Default ranged GETs in flight for one large download (`rangeConcurrency`). */
export const DEFAULT_GET_CONCURRENCY = 1
/** A download to a file of one response up to this size is written with one call. */
export const ONE_WRITE = 8 * MiB
/**
 * A download to a file of one response up to this size is created, written and renamed into
 * place with synchronous calls. They hold the event loop for a fraction of a millisecond each
 * (0.3-0.6 ms median, a few ms at worst, measured on a local ext4 disk; longer on a slow or
 * network file system), where the same calls on the thread pool cost more CPU and time in all:
 * 2,000 files of 4 KiB came down in 6.6-6.8 s against 8.0-8.3 s.
 */
export const SYNC_WRITE = 256 * 1024
/** Bytes gathered before one positional write to the file. */
export const WRITE_BUFFER = MiB
/**
 * A whole-object answer cut short by a negative `end` is read to its end (and the tail thrown
 * away) when at most this much is left, so it can still be verified against its checksum.
 */
export const READ_PAST_FOR_VERIFY = MiB

/** What a finished download was checked against, passed to `onVerified`. */
export interface DownloadInfo {
  bucket: string
  key: string
  /** How the bytes were verified (`'size'` when nothing stronger was offered; `'none'` with `verify: false`). */
  verified: Verification
  /** Bytes delivered. */
  size: number
  /** The object's size, when an answer told it. */
  objectSize?: number
  /** The object's ETag (as sent, quoted), when an answer had one. */
  etag?: string
  /** Times a broken response body was resumed. */
  resumes: number
  /** Downloads of the whole thing (2 when the first failed verification and was fetched again). */
  attempts: number
}

/** Options for downloads. */
export interface GetOptions extends ByteRange {
  /**
   * Abort the download: every request in flight stops; a file download leaves no file.
   * @default undefined (not abortable from outside)
   */
  signal?: AbortSignal
  /**
   * Bytes per ranged GET when downloading a large object to a file or a stream; objects (or
   * ranges) up to this size take one GET. Also the part size a multipart ETag is checked with.
   * An integer between 1 MiB and 1 GiB. @default 8388608 (8 MiB)
   */
  partSize?: number
  /**
   * Ranged GETs in flight at once for one large download (to a file or a stream). An integer
   * >= 1. Default 1: one GET for the whole object (or range). Parallel ranges pay where the
   * network, not the server, is the limit; against a radosgw on the same 2-core machine a
   * 256 MiB stream took 0.38 s with one GET and 0.73 s with 8 MiB x 4 ranges, so it is opt-in.
   * (Not the bucket's `concurrency`, which counts objects in parallel calls.)
   * @default 1
   */
  rangeConcurrency?: number
  /**
   * The former name of {@link GetOptions.rangeConcurrency}, still accepted (silently); giving
   * both with different values is an InvalidArgumentError.
   * @deprecated Use `rangeConcurrency`: elsewhere `concurrency` counts objects in flight.
   * @default 1
   */
  concurrency?: number
  /**
   * Check the bytes against the checksum (or ETag MD5, or length) the server offers. `false`
   * checks only the length. @default true
   */
  verify?: boolean
  /**
   * Called once the download is complete and verified, before the promise resolves (or the
   * stream ends). @default undefined (nothing called)
   */
  onVerified?: (info: DownloadInfo) => void
  /**
   * For a download to a file: a folder the file must stay inside, by real paths: a symbolic link
   * on the way that leads outside it makes the download fail with InvalidArgumentError (and
   * writes nothing). The array forms with a destination folder set it to that folder.
   * @default undefined (no containment: the path is written as given)
   */
  root?: string
}

export interface Settings {
  partSize: number
  rangeConcurrency: number
  verify: boolean
  slice: Slice | undefined
  /** A composite digest a previous attempt computed that mismatched with an unconfirmed layout. */
  acceptDigest?: string
}

export function settingsOf(opts: GetOptions, key: string, bucket: string): Settings {
  const where = { key, bucket }
  const partSize = opts.partSize ?? DEFAULT_GET_PART_SIZE
  const name = opts.rangeConcurrency !== undefined ? 'rangeConcurrency' : 'concurrency'
  const concurrency = opts.rangeConcurrency ?? opts.concurrency ?? DEFAULT_GET_CONCURRENCY
  try {
    validateInteger(partSize, 'partSize', MIN_GET_PART_SIZE, MAX_GET_PART_SIZE)
    validateInteger(concurrency, name, 1)
    if (opts.rangeConcurrency !== undefined && opts.concurrency !== undefined && opts.concurrency !== opts.rangeConcurrency) {
      throw new InvalidArgumentError(
        `Expected one value for ranges in flight, got rangeConcurrency ${describeValue(opts.rangeConcurrency)} and its former name concurrency ${describeValue(opts.concurrency)}`,
        { argument: 'concurrency' },
      )
    }
  } catch (err) {
    const e = err as InvalidArgumentError
    throw new InvalidArgumentError(e.message, { argument: e.argument ?? 'options', ...where })
  }
  if (opts.verify !== undefined && typeof opts.verify !== 'boolean') {
    throw new InvalidArgumentError(`Expected verify to be a boolean, got ${describeValue(opts.verify)}`, { argument: 'verify', ...where })
  }
  if (opts.onVerified !== undefined && typeof opts.onVerified !== 'function') {
    throw new InvalidArgumentError(`Expected onVerified to be a function, got ${describeValue(opts.onVerified)}`, { argument: 'onVerified', ...where })
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`Expected signal to be an AbortSignal, got ${describeValue(opts.signal)}`, { argument: 'signal', ...where })
  }
  if (opts.root !== undefined && typeof opts.root !== 'string') {
    throw new InvalidArgumentError(`Expected root to be a folder path, got ${describeValue(opts.root)}`, { argument: 'root', ...where })
  }
  return { partSize, rangeConcurrency: concurrency, verify: opts.verify ?? true, slice: normalizeRange(opts, where) }
}

/**
 * Validate download options (range, partSize, rangeConcurrency, verify, onVerified, signal) and throw
 * InvalidArgumentError naming the wrong one; the array forms call it once, before any request.
 *
 * @example
 * ```ts
 * validateGetOptions({ start: 'x' as never }) // throws: start
 * ```
 */
export function validateGetOptions(opts: GetOptions, where: { bucket: string; key?: string } = { bucket: '' }): void {
  settingsOf(opts, where.key ?? '', where.bucket)
}

/** One download under way: its validated settings, a controller linked to the caller's signal, and its reporter. */
export interface Run {
  s: Settings
  where: { bucket: string; key: string }
  controller: AbortController
  signal: AbortSignal
  dispose: () => void
  /** Downloads of the whole thing so far (set by the verify retry). */
  attempts: number
  /** Complete the info, pass it to `onVerified`, and return it. */
  report: (info: Partial<DownloadInfo>) => DownloadInfo
}

/** Validate the key and options of one download (before any request) and set up its run. */
export function begin(ref: BucketRef, key: string, opts: GetOptions): Run {
  validateKey(key, ref.name)
  const s = settingsOf(opts, key, ref.name)
  const { controller, dispose } = linkedController(opts.signal)
  const run: Run = {
    s,
    where: { bucket: ref.name, key },
    controller,
    signal: controller.signal,
    dispose,
    attempts: 1,
    report: (info) => {
      const full: DownloadInfo = {
        bucket: ref.name,
        key,
        verified: info.verified ?? 'none',
        size: info.size ?? 0,
        resumes: info.resumes ?? 0,
        attempts: run.attempts,
      }
      if (info.objectSize !== undefined) full.objectSize = info.objectSize
      if (info.etag !== undefined) full.etag = info.etag
      opts.onVerified?.(full)
      return full
    },
  }
  return run
}

/**
 * A typed error for a failure. Once the signal aborted, the abort's reason is the error when it
 * is one of ours (the first failure of a parallel download aborts the rest with it); any other
 * abort (the caller's signal, the consumer stopping) is an AbortError.
 */
export function failure(err: unknown, signal: AbortSignal, where: Where): BucketflowError {
  if (signal.aborted) {
    const reason: unknown = signal.reason
    if (reason instanceof BucketflowError) return reason
    if (err instanceof AbortError) return err
    return new AbortError(`GetObject s3://${where.bucket}/${where.key} was aborted`, { ...where, cause: reason ?? err })
  }
  return toBucketflowError(err, { ...where, operation: 'GetObject' })
}
