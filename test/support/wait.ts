/**
 * Wait for a condition instead of for a guessed time: checks `condition` every `stepMs` and
 * fails with a message naming what was awaited once `timeoutMs` has passed, so a test that
 * waits for something that never happens fails fast instead of hanging until its timeout.
 *
 * @example
 * ```ts
 * await waitUntil(() => proxy.of('GetObject').length >= 3, 'three GETs at the proxy')
 * ```
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
}
