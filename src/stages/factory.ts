/**
 * The stage factory: what every stage on many objects shares, written once. A stage file states
 * its options, their validation and the work for one item; {@link createStage} (one request per
 * item) or {@link createBatchStage} (one request per batch of keys) does the rest:
 *
 * - validates the shared options (`concurrency`, `signal`, `stopOnError`, `ordered`) and runs the
 *   stage's own `validate` **at the call**, so bad options throw InvalidArgumentError before the
 *   caller iterates;
 * - runs the work with at most `concurrency` items (or batches) in flight, yielding one
 *   {@link Result} per item, in input order (`ordered`, the default) or as they settle;
 * - aborts the `signal` it gives the work when the consumer stops early (`break`), when the
 *   caller's `signal` aborts, or on `stopOnError`: in-flight requests stop and no new one starts.
 * `stages/head.ts` is the smallest stage to copy. Internal: not exported from the package.
 * @packageDocumentation
 */
import type { BucketRef } from '../bucket-ref.js'
import { InvalidArgumentError } from '../errors.js'
import { mapResults, settleGroups, type Result, type ResultNote, type StageOptions } from '../results.js'
import { describeValue, validateConcurrency, validateInteger } from '../validate.js'

/** A stage: items in, one {@link Result} per item out. */
export type Stage<In, T> = (source: AsyncIterable<In> | Iterable<In>) => AsyncGenerator<Result<T>>

/** What a per-item stage states: how to name an item, how to check its options, and its work. */
export interface StageWork<In, T> {
  /** The key an item's result carries. A throw here fails that item alone (InvalidArgumentError). */
  keyOf: (item: In) => string
  /**
   * The work for one item. `signal` aborts when the stage stops (early `break`, the caller's
   * `signal`, `stopOnError`); pass it to every request. `annotate` adds fields to the item's
   * successful result (e.g. what a download verified).
   */
  run: (item: In, signal: AbortSignal, annotate: (note: ResultNote) => void) => Promise<T>
  /** Checks of the stage's own options, run once at the call. Throw InvalidArgumentError. */
  validate?: () => void
  /** Items in flight when `options.concurrency` is not given. Default: the bucket's (8). */
  concurrency?: number
}

/**
 * Check the options every stage takes and settle the concurrency: `options.concurrency`, else
 * `fallback`, else the bucket's, else 8. Throws InvalidArgumentError at once.
 * @internal
 */
export function validateStageOptions(ref: BucketRef, options: StageOptions, fallback?: number): number {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(`Expected options to be an object, got ${describeValue(options)}`, { argument: 'options', bucket: ref.name })
  }
  const concurrency = options.concurrency ?? fallback ?? ref.concurrency ?? 8
  validateConcurrency(concurrency)
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`Expected signal to be an AbortSignal, got ${describeValue(options.signal)}`, { argument: 'signal', bucket: ref.name })
  }
  for (const name of ['stopOnError', 'ordered'] as const) {
    const value = options[name]
    if (value !== undefined && typeof value !== 'boolean') {
      throw new InvalidArgumentError(`Expected ${name} to be a boolean, got ${describeValue(value)}`, { argument: name, bucket: ref.name })
    }
  }
  return concurrency
}

/**
 * Build a stage that runs `work.run` once per item. Options are validated here, at the call;
 * the returned function starts nothing until it is iterated.
 * Memory: at most `concurrency` items and their values are held (in ordered mode a result that
 * settles early waits in that window).
 * @internal
 */
export function createStage<In, T>(ref: BucketRef, options: StageOptions, work: StageWork<In, T>): Stage<In, T> {
  const concurrency = validateStageOptions(ref, options, work.concurrency)
  work.validate?.()
  return (source) => mapResults(source, work.keyOf, work.run, { ...options, concurrency, bucket: ref.name })
}

/** What a batching stage states: the batch size and the work for one batch. */
export interface BatchWork<T> {
  /** Keys per batch, an integer from 1 to `maxBatchSize`. */
  batchSize: number
  /** The largest batch the request takes (e.g. 1000 for DeleteObjects). */
  maxBatchSize: number
  /**
   * The work for one batch: one result per key, in the batch's order, never a rejection.
   * `signal` aborts as for {@link StageWork.run}.
   */
  run: (keys: string[], signal: AbortSignal) => Promise<Result<T>[]>
  /** Checks of the stage's own options, run once at the call. */
  validate?: () => void
  /** Batches in flight when `options.concurrency` is not given. Default: the bucket's (8). */
  concurrency?: number
}

/**
 * Build a stage that groups the keys it receives into batches of `batchSize` and runs
 * `work.run` once per batch, `concurrency` batches at a time; it yields one result per key.
 * Options are validated at the call. Memory: at most `concurrency x batchSize` keys and their
 * results are held.
 * @internal
 */
export function createBatchStage<T>(ref: BucketRef, options: StageOptions, work: BatchWork<T>): Stage<string, T> {
  validateInteger(work.batchSize, 'batchSize', 1, work.maxBatchSize)
  const concurrency = validateStageOptions(ref, options, work.concurrency)
  work.validate?.()
  const { batchSize } = work
  return (source) => {
    async function* batches(): AsyncGenerator<string[]> {
      let batch: string[] = []
      for await (const key of source) {
        batch.push(key)
        if (batch.length === batchSize) {
          yield batch
          batch = []
        }
      }
      if (batch.length > 0) yield batch
    }
    return settleGroups(batches(), work.run, { ...options, concurrency, bucket: ref.name })
  }
}
