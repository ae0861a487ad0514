import { afterEach, describe, expect, it, vi } from 'vitest'
import { AbortError, InvalidArgumentError } from '../../src/errors.js'
import { backoffDelay, retry } from '../../src/util/retry.js'

/** A function that fails `failures` times with the given errors, then resolves 'done'. */
function flaky(errors: unknown[]) {
  const calls: number[] = []
  const fn = async (attempt: number): Promise<string> => {
    calls.push(attempt)
    if (calls.length <= errors.length) throw errors[calls.length - 1]
    return 'done'
  }
  return { fn, calls }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('retry', () => {
  it('returns the first success, passing 1-based attempt numbers', async () => {
    const { fn, calls } = flaky([new Error('a'), new Error('b')])
    const delays: number[] = []
    const result = await retry(fn, { attempts: 3, baseDelayMs: 0, onRetry: (_e, _a, d) => delays.push(d) })
    expect(result).toBe('done')
    expect(calls).toEqual([1, 2, 3])
    expect(delays).toEqual([0, 0])
  })

  it('throws the last error as it came once the attempts are used up', async () => {
    const last = new Error('third')
    const { fn, calls } = flaky([new Error('first'), new Error('second'), last, new Error('never')])
    await expect(retry(fn, { attempts: 3, baseDelayMs: 0 })).rejects.toBe(last)
    expect(calls).toEqual([1, 2, 3])
  })

  it('stops at an error the predicate refuses, without waiting', async () => {
    const fatal = Object.assign(new Error('denied'), { statusCode: 403 })
    const { fn, calls } = flaky([Object.assign(new Error('busy'), { statusCode: 503 }), fatal])
    const seen: number[] = []
    const retryable = (err: unknown, attempt: number) => {
      seen.push(attempt)
      return (err as { statusCode: number }).statusCode === 503
    }
    await expect(retry(fn, { attempts: 5, baseDelayMs: 0, retryable })).rejects.toBe(fatal)
    expect(calls).toEqual([1, 2])
    expect(seen).toEqual([1, 2])
  })

  it('waits a jittered, doubling, capped backoff between attempts', async () => {
    vi.useFakeTimers()
    const { fn, calls } = flaky([new Error('1'), new Error('2'), new Error('3'), new Error('4')])
    const delays: number[] = []
    const done = retry(fn, { attempts: 5, baseDelayMs: 100, maxDelayMs: 300, random: () => 0.5, onRetry: (_e, _a, d) => delays.push(d) })
    await vi.advanceTimersByTimeAsync(0)
    expect(calls).toEqual([1])
    await vi.advanceTimersByTimeAsync(49)
    expect(calls).toEqual([1]) // the first backoff is 50 ms: half of 100
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toEqual([1, 2])
    await vi.advanceTimersByTimeAsync(1000)
    await expect(done).resolves.toBe('done')
    expect(delays).toEqual([50, 100, 150, 150]) // 100, 200, then capped at 300, times 0.5
  })

  it('rejects with AbortError when the signal aborts during a backoff, and starts no attempt after it', async () => {
    vi.useFakeTimers()
    const controller = new AbortController()
    const { fn, calls } = flaky([new Error('1'), new Error('2')])
    const done = retry(fn, { attempts: 3, baseDelayMs: 10_000, random: () => 0.99, signal: controller.signal })
    const outcome = done.catch((err: unknown) => err)
    await vi.advanceTimersByTimeAsync(100)
    controller.abort(new Error('user stop'))
    const err = await outcome
    expect(err).toBeInstanceOf(AbortError)
    expect((err as AbortError).cause).toEqual(new Error('user stop'))
    await vi.advanceTimersByTimeAsync(60_000)
    expect(calls).toEqual([1])
  })

  it('does not call fn with an already aborted signal', async () => {
    const controller = new AbortController()
    controller.abort()
    const { fn, calls } = flaky([])
    await expect(retry(fn, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError)
    expect(calls).toEqual([])
  })

  it.each([
    [{ attempts: 0 }, 'Expected attempts to be an integer >= 1, got 0'],
    [{ attempts: 1.5 }, 'Expected attempts to be an integer >= 1, got 1.5'],
    [{ baseDelayMs: -1 }, 'Expected baseDelayMs to be a finite number >= 0, got -1'],
    [{ maxDelayMs: Number.NaN }, 'Expected maxDelayMs to be a finite number >= 0, got NaN'],
  ])('refuses bad options %o with InvalidArgumentError', async (options, message) => {
    const { fn, calls } = flaky([])
    const err = await retry(fn, options).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect((err as Error).message).toBe(message)
    expect(calls).toEqual([])
  })
})

describe('backoffDelay', () => {
  it('draws uniformly below the doubled, capped ceiling', () => {
    expect(backoffDelay(1, 100, 5000, () => 0)).toBe(0)
    expect(backoffDelay(1, 100, 5000, () => 0.999)).toBe(99)
    expect(backoffDelay(4, 100, 5000, () => 0.5)).toBe(400)
    expect(backoffDelay(20, 100, 5000, () => 0.5)).toBe(2500)
  })
})
