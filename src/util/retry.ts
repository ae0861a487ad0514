/**
 * One retry helper for the whole library: a number of attempts, a jittered exponential backoff
 * between them, a predicate for what is worth another attempt, and an AbortSignal that stops
 * both the waiting and further attempts.
 *
 * @example
 * ```ts
 * const controller = new AbortController()
 * const text = await retry(async (attempt) => (await fetch(`http://127.0.0.1:8080/part?try=${attempt}`)).text(), {
 *   attempts: 4,
 *   retryable: (err) => (err as { statusCode?: number }).statusCode === 503,
 *   signal: controller.signal,
 * })
 * ```
 * @packageDocumentation
 */
import { AbortError, InvalidArgumentError } from '../errors.js'
import { sleep } from './abort.js'

/** Options of {@link retry}. */
export interface RetryOptions {
  /** Attempts in all, the first included (an integer >= 1). @default 3 */
  attempts?: number
  /** Backoff before the second attempt, in ms; doubled for each later one. @default 100 */
  baseDelayMs?: number
  /** Upper bound of one backoff, in ms. @default 5000 */
  maxDelayMs?: number
  /** Whether an error is worth another attempt. @default every error */
  retryable?: (err: unknown, attempt: number) => boolean
  /** Stops the backoff at once and rejects with {@link AbortError}; no attempt starts after it. */
  signal?: AbortSignal
  /** Called before each backoff, with the attempt that failed (1-based) and the delay chosen. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void
  /** Source of randomness in [0, 1) for the jitter (tests pass a fixed one). @default Math.random */
  random?: () => number
  /** The backoff before attempt `attempt + 1`, in ms, instead of the full-jitter one. */
  delayMs?: (attempt: number) => number
  /** The error an abort rejects with. @default an AbortError whose cause is the signal's reason */
  aborted?: () => Error
}

function checkDelay(value: number, name: string): void {
  if (!Number.isFinite(value) || value < 0)
    throw new InvalidArgumentError(`Expected ${name} to be a finite number >= 0, got ${String(value)}`, { argument: name })
}

/**
 * Exponential backoff with half jitter before attempt `attempt + 1` (1-based): between half and
 * all of `min(maxMs, baseMs * 2^(attempt-1))`.
 */
export function halfJitter(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1))
  return ceiling / 2 + Math.random() * (ceiling / 2)
}

/**
 * The backoff before attempt `attempt + 1`: "full jitter", a uniform draw in
 * `[0, min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)))`.
 *
 * @example
 * ```ts
 * backoffDelay(3, 100, 5000, () => 0.5) // 200: half of 100 * 2 ** 2
 * ```
 */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1))
  return Math.floor(random() * ceiling)
}

/**
 * Run `fn` until it resolves, it throws an error `retryable` refuses, or `attempts` are used up
 * (then the last error is thrown as it came). `fn` gets the attempt number, 1-based. An abort
 * of `signal` rejects with {@link AbortError} (cause: the signal's reason) without starting
 * another attempt. Memory: nothing beyond `fn`'s own.
 *
 * @example
 * ```ts
 * const head = await retry(() => bucket.head('reports/today.csv'), { attempts: 5, baseDelayMs: 50, signal: AbortSignal.timeout(10_000) })
 * ```
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new InvalidArgumentError(`Expected attempts to be an integer >= 1, got ${String(attempts)}`, { argument: 'attempts' })
  const base = options.baseDelayMs ?? 100
  const max = options.maxDelayMs ?? 5000
  checkDelay(base, 'baseDelayMs')
  checkDelay(max, 'maxDelayMs')
  const { signal } = options
  const aborted = options.aborted ?? ((): Error => new AbortError('Stopped retrying: the signal was aborted', { cause: signal?.reason }))
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw aborted()
    try {
      return await fn(attempt)
    } catch (err) {
      if (signal?.aborted) throw aborted()
      if (attempt >= attempts || (options.retryable && !options.retryable(err, attempt))) throw err
      const delay = options.delayMs ? options.delayMs(attempt) : backoffDelay(attempt, base, max, options.random)
      options.onRetry?.(err, attempt, delay)
      if (!(await sleep(delay, signal))) throw aborted()
    }
  }
}
