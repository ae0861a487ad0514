/**
 * One GET of a followed object (304, 416 and 404 are answers, not errors) and `readObjectText`,
 * an object's bytes from an offset, decompressed when it is gzip or zstd.
 *
 * @example
 * ```ts
 * for await (const chunk of readObjectText(bucket, 'logs/app.log.gz', { start: 0 })) process.stdout.write(chunk)
 * ```
 * @packageDocumentation
 */
import type { Transform } from 'node:stream'
import { transportOf, type BucketRef } from '../../bucket-ref.js'
import { IntegrityError, InvalidArgumentError, NoSuchKeyError, toBucketflowError } from '../../errors.js'
import { compressionOf, createDecompressor, type LogCompression } from '../../compression.js'
import type { GetInput } from '../get-body.js'

/** Thrown inside a follow loop to end it quietly. */
export class Stop extends Error {}

/** A GET's answer: the body (and what the headers say), or why there is none. */
export type Answer =
  | { status: 'ok'; body: AsyncGenerator<Buffer>; etag: string; size: number; start: number; encoding: string | undefined }
  | { status: 'not-modified' }
  | { status: 'unsatisfiable' }
  | { status: 'missing' }

/** `bytes 3-9/10` -> start 3, size 10. */
function parseContentRange(value: string | undefined): { start: number; size: number } | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+)$/.exec(value?.trim() ?? '')
  return m ? { start: Number(m[1]), size: Number(m[2]) } : undefined
}

/** Send the GET; resolves once the response has arrived. 304, 416 and 404 are answers, not errors. */
export async function getObject(ref: BucketRef, key: string, input: GetInput, signal: AbortSignal): Promise<Answer> {
  let out
  try {
    out = await transportOf(ref).getObject({ ...input, Bucket: ref.name, Key: key }, { signal })
  } catch (err) {
    if (signal.aborted) throw new Stop()
    const typed = toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' })
    if (typed.statusCode === 304) return { status: 'not-modified' }
    if (typed.statusCode === 416) return { status: 'unsatisfiable' }
    if (typed instanceof NoSuchKeyError) return { status: 'missing' }
    throw typed
  }
  const range = parseContentRange(out.ContentRange)
  const stream = (out.Body ?? []) as AsyncIterable<Uint8Array>
  const body = (async function* () {
    try {
      for await (const chunk of stream) {
        yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      }
    } catch (err) {
      if (signal.aborted) throw new Stop()
      throw toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' })
    }
  })()
  return {
    status: 'ok',
    body,
    etag: out.ETag ?? '',
    size: range?.size ?? out.ContentLength ?? 0,
    start: range?.start ?? 0,
    encoding: out.ContentEncoding,
  }
}

/**
 * A decompressor fed chunk by chunk across polls: each `write` resolves to the output that
 * chunk produced. Memory: the codec's window.
 */
export class ChunkDecoder {
  readonly #t: Transform
  readonly #where: string
  #out: Buffer[] = []
  #error: Error | undefined

  constructor(kind: Exclude<LogCompression, 'none'>, where: string) {
    this.#where = where
    this.#t = createDecompressor(kind)
    this.#t.on('data', (b: Buffer) => this.#out.push(b))
    this.#t.on('error', (err: Error) => {
      this.#error ??= err
    })
  }

  #take(): Buffer[] {
    if (this.#error) throw new IntegrityError(`${this.#where} cannot be decompressed: ${this.#error.message}`, { cause: this.#error })
    const out = this.#out
    this.#out = []
    return out
  }

  async write(chunk: Buffer): Promise<Buffer[]> {
    await new Promise<void>((resolve) => this.#t.write(chunk, () => resolve()))
    return this.#take()
  }

  async end(): Promise<Buffer[]> {
    await new Promise<void>((resolve) => {
      this.#t.once('end', resolve)
      this.#t.once('error', () => resolve())
      this.#t.end()
    })
    return this.#take()
  }

  destroy(): void {
    this.#t.destroy()
  }
}

/**
 * One object's bytes from `start` (default 0), decompressed when it is gzip or zstd (by its
 * `Content-Encoding` or key suffix) and `decompress` is not false. For `bucketflow tail`
 * without -f. Memory: one response chunk (and a decompressor's window).
 *
 * @example
 * ```ts
 * for await (const chunk of readObjectText(bucket, 'logs/app.log.gz', { start: 0 })) process.stdout.write(chunk)
 * ```
 */
export async function* readObjectText(
  ref: BucketRef,
  key: string,
  opts: { start?: number; decompress?: boolean; signal?: AbortSignal } = {},
): AsyncGenerator<Buffer> {
  const controller = new AbortController()
  const onAbort = () => controller.abort(opts.signal?.reason)
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const start = opts.start ?? 0
    const range = start > 0 ? `bytes=${start}-` : start < 0 ? `bytes=${start}` : undefined
    let answer: Answer
    try {
      answer = await getObject(ref, key, range ? { Range: range } : {}, controller.signal)
    } catch (err) {
      if (err instanceof Stop) return
      throw err
    }
    if (answer.status === 'missing') throw new NoSuchKeyError(`No such key: s3://${ref.name}/${key}`, { bucket: ref.name, key })
    if (answer.status !== 'ok') return
    const kind = opts.decompress === false ? 'none' : compressionOf(key, answer.encoding)
    if (kind === 'none') {
      yield* answer.body
      return
    }
    if (range !== undefined) {
      throw new InvalidArgumentError(`s3://${ref.name}/${key} is compressed: it can only be decompressed from its first byte`, {
        bucket: ref.name,
        key,
        argument: 'from',
      })
    }
    const decoder = new ChunkDecoder(kind, `s3://${ref.name}/${key}`)
    try {
      for await (const chunk of answer.body) yield* await decoder.write(chunk)
      yield* await decoder.end()
    } finally {
      decoder.destroy()
    }
  } catch (err) {
    if (err instanceof Stop) return
    throw err
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
    controller.abort()
  }
}
