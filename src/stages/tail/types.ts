/**
 * The types of `tail`: options, markers, the `Tail` stream, and the follow loop's wrapper that
 * links an internal controller to the caller's signal.
 *
 * @example
 * ```ts
 * for await (const item of bucket.tail('logs/', { follow: 'rotation', markers: true })) {
 *   if (isTailMarker(item)) console.log('now', item)
 * }
 * ```
 * @packageDocumentation
 */
import { lines } from './lines.js'
import { Stop } from './read.js'
import { EventEmitter } from 'node:events'
import { AbortError } from '../../errors.js'
import { linkedController } from '../../util/abort.js'

/** Where to start: the current end (default), the first byte, or a byte offset (negative: from the end). */
export type TailFrom = 'end' | 'start' | number

/** Options for {@link tail}. */
export interface TailOptions {
  /**
   * Where to start. For an object: `'end'` (only what is added from now on; the default),
   * `'start'`, or a byte offset (negative counts from the end: `-1000` is the last 1000 bytes).
   * For `follow: 'rotation'`: `'end'` (only objects that appear from now on) or `'start'`
   * (every object under the prefix, oldest first).
   */
  from?: TailFrom
  /** Milliseconds between polls. Default 1000. */
  pollMs?: number
  /** Stop following: the iteration ends (without an error) and the request in flight is aborted. */
  signal?: AbortSignal
  /** Wait for a missing object (or one that is deleted) instead of failing with NoSuchKeyError. Default false. */
  permitMissing?: boolean
  /** `'object'` (default): follow one object as it grows. `'rotation'`: follow new objects under a prefix. */
  follow?: 'object' | 'rotation'
  /** Yield {@link TailMarker}s in the stream, between the Buffers. Default false. */
  markers?: boolean
  /** Decompress gzip and zstd objects (by `Content-Encoding` or key suffix). Default true. */
  decompress?: boolean
}

/** The followed object was replaced by different content: what follows starts again at byte 0. */
export interface TailReset {
  readonly marker: 'reset'
  readonly key: string
  /**
   * `shrunk`: smaller than what was read. `replaced`: different content (same size with a new
   * ETag, or the byte before the read position changed). `recreated`: deleted, then created again.
   */
  readonly reason: 'shrunk' | 'replaced' | 'recreated'
  /** Size when last seen (before the change). */
  readonly previousSize: number
  /** Size now. */
  readonly size: number
  readonly etag: string
}

/** In `follow: 'rotation'`: the bytes that follow are the object `key`'s. */
export interface TailObject {
  readonly marker: 'object'
  readonly key: string
  readonly size: number
  readonly etag: string
}

/** What `markers: true` adds to the stream. Tell it from a Buffer with {@link isTailMarker}. */
export type TailMarker = TailReset | TailObject

/**
 * A followed object or prefix: an `AsyncIterable` of Buffers (and, with `markers: true`, of
 * {@link TailMarker}s) that is also an EventEmitter: 'reset' ({@link TailReset}) and 'object'
 * ({@link TailObject}) are emitted just before the bytes they announce are yielded. Each
 * `for await` over it starts its own polling.
 *
 * @example
 * ```ts
 * const t = bucket.tail('metrics.csv', { from: 'start', pollMs: 500 })
 * t.on('reset', (r) => console.warn(`metrics.csv was ${r.reason}; reading it again`))
 * for await (const chunk of t) process.stdout.write(chunk)
 * ```
 */
export class Tail<T extends Buffer | TailMarker = Buffer> extends EventEmitter implements AsyncIterable<T> {
  readonly #source: (tail: Tail<T>) => AsyncGenerator<T>

  /** Use {@link tail}. */
  constructor(source: (tail: Tail<T>) => AsyncGenerator<T>) {
    super()
    this.#source = source
  }

  [Symbol.asyncIterator](): AsyncGenerator<T> {
    return this.#source(this)
  }

  /** The followed bytes as lines (see {@link lines}). */
  lines(): AsyncGenerator<string | Exclude<T, Buffer>> {
    return lines(this as AsyncIterable<Buffer | TailMarker>) as AsyncGenerator<string | Exclude<T, Buffer>>
  }
}

// biome-ignore lint/correctness/noUnusedVariables: declaration merging with the class needs the same type parameters
export interface Tail<T extends Buffer | TailMarker = Buffer> {
  on(event: 'reset', listener: (reset: TailReset) => void): this
  on(event: 'object', listener: (object: TailObject) => void): this
  once(event: 'reset', listener: (reset: TailReset) => void): this
  once(event: 'object', listener: (object: TailObject) => void): this
}

/** Run the follow loop with an internal controller linked to the user's signal. */
export function following<T extends Buffer | TailMarker>(
  signal: AbortSignal | undefined,
  body: (inner: AbortSignal, tail: Tail<T>) => AsyncGenerator<T>,
): (tail: Tail<T>) => AsyncGenerator<T> {
  return async function* (tail) {
    if (signal?.aborted) return
    const { controller, dispose } = linkedController(signal)
    try {
      yield* body(controller.signal, tail)
    } catch (err) {
      if (err instanceof Stop || controller.signal.aborted) return
      throw err
    } finally {
      dispose()
      controller.abort(new AbortError('The tail was stopped'))
    }
  }
}
