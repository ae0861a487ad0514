/**
 * Turn what users pass to `put` into something a request can carry:
 * Buffer/Uint8Array, a local file path, a literal string, a Readable, an (async) iterable of
 * chunks, a web ReadableStream, or null/undefined for an empty object.
 */
import { createReadStream } from 'node:fs'
import { stat, readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { BucketflowError, InvalidArgumentError, SourceError } from './errors.js'
import { describeValue } from './validate.js'

/** Everything `put` accepts as a source. A string is a local file path unless `literal: true`. */
export type PutSource =
  | Uint8Array
  | string
  | Readable
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array>
  | null
  | undefined

/** A source of bytes of unknown length: what `putStream` accepts. */
export type StreamSource = Readable | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>

/**
 * A Node Readable (byte mode) for a stream source: a Readable as it is, a web ReadableStream
 * through `Readable.fromWeb`, an AsyncIterable of Uint8Array or string chunks (strings as
 * UTF-8) through `Readable.from`. Throws InvalidArgumentError for anything else.
 *
 * @example
 * ```ts
 * declare const url: string
 * const readable = toReadable((await fetch(url)).body!)
 * ```
 */
export function toReadable(source: StreamSource, key?: string): Readable {
  if (source instanceof Readable) return source
  if (isWebStream(source)) return Readable.fromWeb(source as import('node:stream/web').ReadableStream<Uint8Array>)
  if (isAsyncIterable(source)) return Readable.from(toBytes(source as AsyncIterable<Uint8Array | string>), { objectMode: false })
  throw new InvalidArgumentError(
    `Unsupported stream source ${describeValue(source)}: expected a Readable, an AsyncIterable<Uint8Array | string> or a web ReadableStream`,
    { argument: 'source', ...(key === undefined ? {} : { key }) },
  )
}

/** A source resolved to bytes in memory or to a stream (of known length when `size` is set). */
export type PreparedBody = { kind: 'bytes'; bytes: Uint8Array } | { kind: 'stream'; stream: Readable; size?: number }

/** Files up to this size are read into memory so the request can be retried whole. */
export const IN_MEMORY_FILE_LIMIT = 16 * 1024 * 1024

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
}

function isWebStream(value: unknown): value is ReadableStream<Uint8Array> {
  return value != null && typeof (value as ReadableStream).getReader === 'function' && typeof (value as ReadableStream).tee === 'function'
}

/** Throw InvalidArgumentError for a source `put` cannot upload (checked before any request). */
export function checkSource(source: unknown, key?: string): void {
  if (source == null || typeof source === 'string' || source instanceof Uint8Array) return
  if (source instanceof Readable || isWebStream(source) || isAsyncIterable(source)) return
  if (typeof (source as Iterable<unknown>)[Symbol.iterator] === 'function' && !Array.isArray(source)) return
  throw new InvalidArgumentError(
    `Unsupported source type ${describeValue(source)}: expected a Buffer/Uint8Array, a file path, a string with { literal: true }, a Readable, an AsyncIterable<Uint8Array> or a web ReadableStream`,
    { argument: 'source', ...(key === undefined ? {} : { key }) },
  )
}

/** Resolve a source. `literal` makes a string the object's content instead of a file path. */
export async function prepareBody(source: PutSource, literal = false, key?: string): Promise<PreparedBody> {
  checkSource(source, key)
  if (source == null) return { kind: 'bytes', bytes: new Uint8Array(0) }
  if (source instanceof Uint8Array) return { kind: 'bytes', bytes: source }
  if (typeof source === 'string') {
    if (literal) return { kind: 'bytes', bytes: Buffer.from(source, 'utf8') }
    let size: number
    try {
      const info = await stat(source)
      if (!info.isFile()) throw new InvalidArgumentError(`Source path ${source} is not a file`, { argument: 'source', ...(key === undefined ? {} : { key }) })
      size = info.size
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err
      throw new InvalidArgumentError(
        `Source path ${JSON.stringify(source)} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); pass { literal: true } to upload the string itself`,
        { argument: 'source', ...(key === undefined ? {} : { key }), cause: err },
      )
    }
    if (size <= IN_MEMORY_FILE_LIMIT) return { kind: 'bytes', bytes: await readFile(source) }
    return { kind: 'stream', stream: createReadStream(source), size }
  }
  if (source instanceof Readable || isWebStream(source) || isAsyncIterable(source)) return { kind: 'stream', stream: toReadable(source as StreamSource, key) }
  return { kind: 'stream', stream: Readable.from(toBytes(source as Iterable<Uint8Array>), { objectMode: false }) }
}

async function* toBytes(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8')
    else if (chunk instanceof Uint8Array) yield chunk
    else throw new InvalidArgumentError(`Expected stream chunks to be Uint8Array or string, got ${describeValue(chunk)}`, { argument: 'source' })
  }
}

/**
 * The typed error for a failure of the caller's own source (its stream errored, its iterator
 * threw): a {@link SourceError} with the original as `cause`, or the error itself when it is
 * already one of ours (a bad chunk is an InvalidArgumentError). Undefined for an error that is
 * ours (the upload's), which the caller types as it does.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * declare const source: NodeJS.ReadableStream, sink: NodeJS.WritableStream
 * const where = { bucket: 'my-bucket', key: 'data.bin' }
 * try { await pipeline(source, sink) } catch (err) { throw sourceError(err, where) ?? toBucketflowError(err, where) }
 * ```
 */
export function sourceError(err: unknown, where: { bucket: string; key: string }): BucketflowError | undefined {
  if (err instanceof BucketflowError) return undefined
  const message = err instanceof Error ? err.message : String(err)
  const code = (err as { code?: unknown } | null)?.code
  return new SourceError(`The source of s3://${where.bucket}/${where.key} failed${typeof code === 'string' ? ` (${code})` : ''}: ${message}`, {
    ...where,
    cause: err,
  })
}
