/**
 * The parts of the multipart sink: the pool of part buffers (at most `queueSize + 1` ever
 * exist, each `partSize` bytes), the MD5 each part is sent with, and the one retry loop a part
 * (or the single PutObject of a small stream) is sent with.
 *
 * @packageDocumentation
 */
import { halfJitter, retry } from '../../util/retry.js'
import { createHash } from 'node:crypto'
import { BucketflowError, isTransient, toBucketflowError, type ErrorFields } from '../../errors.js'

/** Base64 MD5 of a part, for its Content-MD5. */
export const md5 = (bytes: Uint8Array): string => createHash('md5').update(bytes).digest('base64')

/**
 * Part buffers free for reuse. Memory: holds only buffers given back, and the sink gives back
 * at most `queueSize + 1` of `size` bytes each; {@link PartBuffers.clear} drops them. A pool
 * shared by consecutive sinks (a rotating log's objects, see {@link PART_BUFFERS}) keeps at most
 * `maxFree` free buffers, so a new object reuses the pages of the last one instead of faulting
 * in fresh ones (measured: a fifth of a plain log stream's CPU went to first touches of new
 * part buffers).
 */
export class PartBuffers {
  readonly #free: Buffer[] = []
  constructor(
    readonly size: number,
    readonly maxFree = Number.POSITIVE_INFINITY,
  ) {}
  /** A free buffer, or a new one (not zeroed: only the filled bytes are ever sent). */
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size)
  }
  /** Give a buffer back once its part was acknowledged. */
  give(buffer: Buffer): void {
    if (this.#free.length < this.maxFree) this.#free.push(buffer)
  }
  /** Drop the free buffers (the upload ended). */
  clear(): void {
    this.#free.length = 0
  }
}

/**
 * Internal option of the multipart sink: a {@link PartBuffers} of the sink's part size that
 * sinks one after another share (never two writing the same buffer: a buffer is taken by one
 * sink and given back only once its request settled successfully). Not part of the public
 * options.
 */
export const PART_BUFFERS: unique symbol = Symbol('bucketflow.partBuffers')

/** Jittered exponential backoff before attempt `attempt + 1`: 100-200 ms, then doubling up to 5 s. */
export function backoff(attempt: number): number {
  return halfJitter(attempt, 200, 5_000)
}

/** How {@link sendWithRetries} sends one request. */
export interface RetryPolicy {
  /** Attempts, the first included. */
  maxAttempts: number
  /** Aborts the attempts and the waits between them. */
  signal: AbortSignal
  /** Fields of the typed error (bucket, key, uploadId, partNumber, operation). */
  where: ErrorFields & { operation: string }
  /** The error to throw once the signal aborted (the sink's failure, or an AbortError). */
  aborted: () => Error
  /** Called before each retry. */
  onRetry: () => void
}

/**
 * Send `send` until it succeeds, a failure is not transient, or `maxAttempts` were made, with
 * {@link backoff} between attempts. Throws the last failure as a BucketflowError located by
 * `where`, or `aborted()` once the signal aborted.
 */
export function sendWithRetries<T>(send: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  const { signal } = policy
  const attempt = (): Promise<T> =>
    send().catch((err: unknown) => {
      throw signal.aborted ? policy.aborted() : toBucketflowError(err, policy.where)
    })
  return retry(attempt, {
    attempts: policy.maxAttempts,
    signal,
    aborted: policy.aborted,
    delayMs: backoff,
    // Network errors and timeouts, 5xx, throttling and BadDigest are worth sending again.
    retryable: (err) => !signal.aborted && err instanceof BucketflowError && isTransient(err),
    onRetry: () => policy.onRetry(),
  })
}
