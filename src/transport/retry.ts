/**
 * Retries with the SDK's own semantics: the client's retry strategy (`client.config.retryStrategy`:
 * standard or adaptive mode, `maxAttempts`, `AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`, its retry quota
 * and jittered exponential backoff) decides whether and when to send again; errors are classified
 * with the SDK's own functions (throttling, transient, server errors).
 *
 * @packageDocumentation
 */
import { delay } from '../util/abort.js'
import type { S3Client } from '@aws-sdk/client-s3'
import type { RetryErrorInfo, RetryErrorType, RetryStrategyV2, RetryToken, SdkError } from '@smithy/types'
import { abortError, TransportError } from './error.js'
import { isServerError, isThrottlingError, isTransientError } from '../aws-sdk.cjs'

/** How the SDK would classify an error for retrying. */
export function classifyError(err: unknown): RetryErrorType {
  if (err instanceof TransportError && err.inBody) {
    // An <Error> inside a 200 answer: its code says whether the server asks for another try.
    if (err.Code === 'SlowDown') return 'THROTTLING'
    if (err.Code === 'InternalError' || err.Code === 'ServiceUnavailable' || err.Code === 'InvalidResponse') return 'TRANSIENT'
    return 'CLIENT_ERROR'
  }
  const e = err as SdkError
  if (isThrottlingError(e)) return 'THROTTLING'
  if (isTransientError(e)) return 'TRANSIENT'
  if (isServerError(e)) return 'SERVER_ERROR'
  return 'CLIENT_ERROR'
}

/** Resolves when `promise` does, or rejects with an AbortError as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) {
    promise.catch(() => undefined)
    return Promise.reject(abortError(signal))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

/** The client's retry strategy (one per client, shared with its SDK requests, as the SDK does). */
export function retryStrategyOf(client: S3Client): Promise<RetryStrategyV2 | undefined> {
  const provider = (client.config as unknown as { retryStrategy?: () => Promise<unknown> }).retryStrategy
  if (typeof provider !== 'function') return Promise.resolve(undefined)
  return provider().then((s) => {
    const strategy = s as Partial<RetryStrategyV2>
    return typeof strategy.acquireInitialRetryToken === 'function' && typeof strategy.refreshRetryTokenForRetry === 'function'
      ? (s as RetryStrategyV2)
      : undefined
  })
}

/**
 * Run `attempt` until it succeeds or the strategy refuses another try. `resendable` false (a
 * stream body) means one attempt, as the SDK does for streaming payloads. The error finally
 * thrown carries `$metadata.attempts` and `totalRetryDelay`. An abort stops at once.
 */
export async function withRetries<T>(
  strategy: RetryStrategyV2 | undefined,
  attempt: () => Promise<T>,
  options: { signal: AbortSignal | undefined; resendable: boolean; retryAfter?: (err: unknown) => Date | undefined },
): Promise<T> {
  const { signal } = options
  if (!strategy || !options.resendable) {
    try {
      return await attempt()
    } catch (err) {
      if (err instanceof TransportError) err.$metadata.attempts = 1
      throw err
    }
  }
  let token: RetryToken = await raceAbort(strategy.acquireInitialRetryToken(''), signal)
  let attempts = 0
  let totalRetryDelay = 0
  for (;;) {
    attempts++
    try {
      const out = await attempt()
      strategy.recordSuccess(token)
      return out
    } catch (err) {
      if (signal?.aborted || (err as { name?: string }).name === 'AbortError') throw err
      const info: RetryErrorInfo = { error: err as SdkError, errorType: classifyError(err) }
      const hint = options.retryAfter?.(err)
      if (hint) info.retryAfterHint = hint
      const started = Date.now()
      try {
        token = await raceAbort(strategy.refreshRetryTokenForRetry(token, info), signal)
      } catch (refused) {
        if (signal?.aborted) throw refused
        if (err instanceof TransportError) {
          err.$metadata.attempts = attempts
          err.$metadata.totalRetryDelay = totalRetryDelay
        }
        throw err
      }
      const delay = token.getRetryDelay()
      if (delay > 0) await sleep(delay, signal)
      totalRetryDelay += Date.now() - started
    }
  }
}

/** Wait `ms`, or reject with an AbortError when `signal` aborts (the timer is cleared). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return delay(ms, signal, () => abortError(signal!))
}
