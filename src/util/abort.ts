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
 * Wait `ms` milliseconds: resolves true after them, or false at once when `signal` aborts
 * (never rejects; the timer is cleared and the listener removed either way).
 */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false)
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
