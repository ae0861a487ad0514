/**
 * Per-item results and the bounded-concurrency engine every parallel operation runs on.
 *
 * A parallel call never throws a failure away: it yields (or resolves to) one
 * {@link Result} per input, `{ ok: true, key, value }` or `{ ok: false, key, error }`.
 *
 * @example
 * ```ts
 * const results = await bucket.get(['a.txt', 'missing.txt'])
 * for (const r of results) {
 *   if (r.ok) console.log(r.key, r.value.length)
 *   else console.error(r.key, r.error.code)
 * }
 * ```
 * @packageDocumentation
 */
import { linkedController } from './util/abort.js'
import { AbortError, type BucketflowError, toBucketflowError } from './errors.js'
import type { Verification } from './checksums.js'
import { InvalidArgumentError } from './errors.js'
import { describeValue, validateConcurrency } from './validate.js'

/** A successful item. */
export interface Ok<T> {
  ok: true
  key: string
  value: T
  /**
   * For downloads: what the bytes were checked against (`md5`, `crc32`, ..., `size`, or `none`
   * with `verify: false`). See `Verification`.
   */
  verified?: Verification
}

/** A failed item; `error` is typed and names the bucket and key. */
export interface Failed {
  ok: false
  key: string
  error: BucketflowError
}

/** The outcome of one item of a parallel operation. */
export type Result<T> = Ok<T> | Failed

/** Options every stage takes. */
export interface StageOptions {
  /** Items in flight at once. Default: the bucket's `concurrency` (8). */
  concurrency?: number
  /** Abort everything in flight and stop. */
  signal?: AbortSignal
  /** Stop at the first failure and throw it, instead of yielding it as a result. Default false. */
  stopOnError?: boolean
  /** Yield results in input order (default true). With false, yield as they complete. */
  ordered?: boolean
}

/**
 * True for a successful result (a type guard for `filter`).
 *
 * @example
 * ```ts
 * const sizes = (await bucket.head(['a.csv', 'b.csv'])).filter(isOk).map((r) => r.value.size)
 * ```
 */
export function isOk<T>(result: Result<T>): result is Ok<T> {
  return result.ok
}

/**
 * Split results into successes and failures.
 *
 * @example
 * ```ts
 * const { ok, failed } = partition(await bucket.head(['a.csv', 'b.csv']))
 * for (const f of failed) console.error(f.key, f.error.code)
 * console.log(ok.length, 'found')
 * ```
 */
export function partition<T>(results: Iterable<Result<T>>): { ok: Ok<T>[]; failed: Failed[] } {
  const ok: Ok<T>[] = []
  const failed: Failed[] = []
  for (const r of results) {
    if (r.ok) ok.push(r)
    else failed.push(r)
  }
  return { ok, failed }
}

export { linkedController }

/** Throw an AbortError if the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, fields: { bucket?: string; key?: string } = {}): void {
  if (signal?.aborted) throw new AbortError('The operation was aborted', { ...fields, cause: signal.reason })
}

/** Extra fields a task may put on its successful result (see {@link mapResults}). */
export type ResultNote = Pick<Ok<unknown>, 'verified'>

/**
 * Run `fn` over every item of `source` with at most `concurrency` in flight, yielding one
 * {@link Result} per item. Memory: at most `concurrency` items and their values are held at once
 * (finished results wait in that window until they can be yielded in order).
 * When the consumer stops early, or `signal` aborts, the `signal` passed to `fn` aborts so
 * in-flight requests stop. `fn` may `annotate` its result (e.g. with what a download verified).
 * An item whose key cannot be taken (`null` where a key or `{ key }` was expected) fails alone
 * with InvalidArgumentError.
 *
 * @example
 * ```ts
 * const keys = ['a.csv', 'b.csv']
 * for await (const r of mapResults(keys, (k) => k, (k, signal) => headObject(bucket, k, { signal }), { concurrency: 4 })) {
 *   console.log(r.key, r.ok ? r.value.size : r.error.code)
 * }
 * ```
 */
export async function* mapResults<In, T>(
  source: AsyncIterable<In> | Iterable<In>,
  keyOf: (item: In) => string,
  fn: (item: In, signal: AbortSignal, annotate: (note: ResultNote) => void) => Promise<T>,
  options: StageOptions & { bucket?: string } = {},
): AsyncGenerator<Result<T>> {
  const concurrency = options.concurrency ?? 8
  validateConcurrency(concurrency)
  const bucket = options.bucket
  const run = async (item: In, signal: AbortSignal): Promise<Result<T>[]> => {
    let key = ''
    try {
      try {
        key = keyOf(item)
      } catch (err) {
        key = describeValue(item)
        throw new InvalidArgumentError(`Expected an item with a key, got ${key}`, { argument: 'key', ...(bucket ? { bucket } : {}), cause: err })
      }
      if (signal.aborted) {
        throw new AbortError('The operation was aborted', { key, ...(bucket ? { bucket } : {}) })
      }
      const note: ResultNote = {}
      const value = await fn(item, signal, (n) => Object.assign(note, n))
      const ok: Ok<T> = { ok: true, key, value }
      if (note.verified !== undefined) ok.verified = note.verified
      return [ok]
    } catch (err) {
      return [{ ok: false, key, error: toBucketflowError(err, { key, ...(bucket ? { bucket } : {}) }, signal) }]
    }
  }
  yield* settleGroups(source, run, { ...options, concurrency })
}

/**
 * The engine under {@link mapResults} and the batching stages: run `fn` over every unit of
 * `source` (an item, or a batch of items) with at most `concurrency` in flight, and yield the
 * results each unit settles to, units in input order (`ordered`) or as they settle. `fn` must not
 * reject (it wraps failures into results). Its `signal` aborts when the consumer stops early
 * (`break`, `return`, a thrown `stopOnError`), when `options.signal` aborts, or when the source
 * fails: in-flight work is cut short and no new unit starts. Memory: at most `concurrency` units
 * and their results are held.
 * @internal
 */
export async function* settleGroups<In, R extends Result<unknown>>(
  source: AsyncIterable<In> | Iterable<In>,
  fn: (unit: In, signal: AbortSignal) => Promise<R[]>,
  options: StageOptions & { bucket?: string; concurrency: number },
): AsyncGenerator<R> {
  validateConcurrency(options.concurrency)
  const outer = options.signal
  const bucket = options.bucket
  const { controller, dispose } = linkedController(outer)
  async function* units(): AsyncGenerator<In> {
    for await (const unit of source) {
      if (controller.signal.aborted) return
      yield unit
    }
  }
  try {
    for await (const group of boundedMap(units(), (unit) => fn(unit, controller.signal), options.concurrency, options.ordered ?? true)) {
      for (const result of group) {
        if (!result.ok && options.stopOnError) throw result.error
        yield result
      }
    }
    throwIfAborted(outer, bucket ? { bucket } : {})
  } finally {
    dispose()
    controller.abort(new AbortError('The consumer stopped'))
  }
}

/**
 * Map `source` through `fn` with at most `concurrency` calls in flight, yielding results in input
 * order (`ordered`) or as they settle. `fn` must not reject (wrap failures into values).
 * Memory: at most `concurrency` items and results are held: in ordered mode a result that
 * settles early waits in that window, and no new call starts until the window has room.
 * The source is pulled only as calls finish (backpressure), and released in `finally`.
 *
 * @example
 * ```ts
 * const lengths = boundedMap(['a', 'bb', 'ccc'], async (s) => s.length, 2, true)
 * for await (const n of lengths) console.log(n) // 1, 2, 3
 * ```
 */
export async function* boundedMap<In, Out>(
  source: AsyncIterable<In> | Iterable<In>,
  fn: (item: In) => Promise<Out>,
  concurrency: number,
  ordered: boolean,
): AsyncGenerator<Out> {
  validateConcurrency(concurrency)
  const it: AsyncIterator<In> | Iterator<In> =
    Symbol.asyncIterator in source ? (source as AsyncIterable<In>)[Symbol.asyncIterator]() : (source as Iterable<In>)[Symbol.iterator]()
  let exhausted = false
  const pull = async (): Promise<IteratorResult<In>> => it.next()
  try {
    if (ordered) {
      const window: Promise<Out>[] = []
      for (;;) {
        while (!exhausted && window.length < concurrency) {
          const next = await pull()
          if (next.done) exhausted = true
          else window.push(fn(next.value))
        }
        const head = window.shift()
        if (head === undefined) return
        yield await head
      }
    }
    const running = new Map<number, Promise<[number, Out]>>()
    let id = 0
    for (;;) {
      while (!exhausted && running.size < concurrency) {
        const next = await pull()
        if (next.done) exhausted = true
        else {
          const n = id++
          running.set(
            n,
            fn(next.value).then((out): [number, Out] => [n, out]),
          )
        }
      }
      if (running.size === 0) return
      const [n, out] = await Promise.race(running.values())
      running.delete(n)
      yield out
    }
  } finally {
    if (!exhausted) await it.return?.()
  }
}

/**
 * Collect an async iterable into an array. Memory: every item is held.
 *
 * @example
 * ```ts
 * const keys = await collect(bucket.list('logs/'))
 * ```
 */
export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of source) out.push(item)
  return out
}
