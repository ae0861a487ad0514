/**
 * Cancellation helpers shared by the stages: an AbortController linked to a caller's signal,
 * and a sleep that a signal cuts short.
 *
 * @example
 * ```ts
 * const { controller, dispose } = linkedController(AbortSignal.timeout(5000))
 * try {
 *   const slept = await sleep(1000, controller.signal) // false when aborted first
 *   console.log(slept)
 * } finally {
 *   dispose()
 *   controller.abort()
 * }
 * ```
 * @packageDocumentation
 */
import { setMaxListeners } from 'node:events'

/**
 * A controller that aborts (with the same reason) when `outer` does: the inner signal of a
 * stage, which the stage aborts itself in `finally`. `dispose` removes the link from `outer`.
 */
export function linkedController(outer: AbortSignal | undefined): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController()
  setMaxListeners(0, controller.signal)
  const onAbort = (): void => controller.abort(outer?.reason)
  if (outer?.aborted) onAbort()
  else outer?.addEventListener('abort', onAbort, { once: true })
  return { controller, dispose: () => outer?.removeEventListener('abort', onAbort) }
}

/**
 * Wait `ms` milliseconds; when `signal` aborts, reject at once with `reason()` (default: the
 * signal's reason). The timer is cleared and the listener removed either way. The one abortable
 * wait of the library: retries, backoffs and polls all use it (or {@link sleep}).
 */
export function delay(ms: number, signal: AbortSignal | undefined, reason: () => unknown = () => signal?.reason): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(reason())
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(reason())
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Wait `ms` milliseconds: resolves true after them, or false at once when `signal` aborts
 * (never rejects).
 */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return delay(ms, signal).then(
    () => true,
    () => false,
  )
}
