/**
 * Downloads: into memory, into a local file, or as a stream; whole objects or byte ranges.
 *
 * Ranges use Python slice semantics, like hostess: `{ start, end }` is the half-open interval
 * [start, end); negative numbers count from the end of the object (`{ start: 0, end: -1 }` is all
 * but the last byte); `{ start: -100 }` is the last 100 bytes (a suffix range, no HEAD needed).
 * Any other range is checked against the object's size (one HEAD) before the GET, and one that
 * lies outside the object raises {@link InvalidRangeError}.
 *
 * @packageDocumentation
 */
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GetObjectCommand, HeadObjectCommand, type GetObjectCommandInput } from '@aws-sdk/client-s3'
import type { BucketRef } from '../bucket-ref.js'
import { bodyToBuffer } from '../body.js'
import { InvalidArgumentError, InvalidRangeError, toBucketflowError } from '../errors.js'
import { safeDestination } from '../paths.js'
import { mapResults, type Result, type StageOptions } from '../results.js'
import { validateKey } from '../validate.js'

/** Objects up to this size are downloaded to a file with one write. */
const SMALL_OBJECT = 1024 * 1024

/** A byte range with Python slice semantics (see the module docs). */
export interface ByteRange {
  /** First byte (inclusive); negative counts from the end. Default 0. */
  start?: number
  /** End (exclusive); negative counts from the end. Default: the end of the object. */
  end?: number
}

/** Options for downloads. */
export interface GetOptions extends ByteRange {
  signal?: AbortSignal
}

function checkIndex(value: number | undefined, name: string, key: string, bucket: string): void {
  if (value !== undefined && !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`Expected ${name} to be an integer, got ${String(value)}`, { argument: name, key, bucket })
  }
}

/**
 * Resolve a range against an object size. Returns [start, end) within [0, size], or throws
 * InvalidRangeError when the range lies outside the object.
 */
export function resolveRange(range: ByteRange, size: number, where: { bucket: string; key: string }): [number, number] {
  const norm = (v: number) => (v < 0 ? size + v : v)
  const start = norm(range.start ?? 0)
  const end = norm(range.end ?? size)
  if (start < 0 || end < 0 || start > size || end > size || start > end) {
    throw new InvalidRangeError(
      `Range { start: ${range.start ?? 0}, end: ${range.end ?? 'end'} } is outside s3://${where.bucket}/${where.key} (${size} bytes)`,
      where,
    )
  }
  return [start, end]
}

interface Planned {
  /** HTTP Range header, or undefined for the whole object. */
  header?: string
  /** The range is empty: no GET needed. */
  empty: boolean
  ifMatch?: string
}

async function planRange(ref: BucketRef, key: string, opts: GetOptions): Promise<Planned> {
  const where = { bucket: ref.name, key }
  checkIndex(opts.start, 'start', key, ref.name)
  checkIndex(opts.end, 'end', key, ref.name)
  if (opts.start === undefined && opts.end === undefined) return { empty: false }
  if (opts.start !== undefined && opts.start < 0 && opts.end === undefined) return { header: `bytes=${opts.start}`, empty: false }
  let head
  try {
    head = await ref.client.send(new HeadObjectCommand({ Bucket: ref.name, Key: key }), opts.signal ? { abortSignal: opts.signal } : {})
  } catch (err) {
    throw toBucketflowError(err, { ...where, operation: 'HeadObject' })
  }
  const [start, end] = resolveRange(opts, head.ContentLength ?? 0, where)
  const planned: Planned = { empty: start === end, header: `bytes=${start}-${end - 1}` }
  if (head.ETag) planned.ifMatch = head.ETag
  return planned
}

async function send(ref: BucketRef, key: string, plan: Planned, signal?: AbortSignal) {
  const input: GetObjectCommandInput = { Bucket: ref.name, Key: key }
  if (plan.header) input.Range = plan.header
  if (plan.ifMatch) input.IfMatch = plan.ifMatch
  try {
    return await ref.client.send(new GetObjectCommand(input), signal ? { abortSignal: signal } : {})
  } catch (err) {
    throw toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' })
  }
}

/**
 * Download an object (or a range of it) into one Buffer. Memory: the object's (range's) size.
 *
 * @example
 * ```ts
 * const head = await getObject(bucket, 'data.bin', { start: 0, end: 4 }) // the first 4 bytes
 * ```
 */
export async function getObject(ref: BucketRef, key: string, opts: GetOptions = {}): Promise<Buffer> {
  validateKey(key, ref.name)
  const plan = await planRange(ref, key, opts)
  if (plan.empty) return Buffer.alloc(0)
  const out = await send(ref, key, plan, opts.signal)
  return bodyToBuffer(out.Body, { bucket: ref.name, key })
}

/**
 * Stream an object (or a range of it). Returns at once; the request starts when the stream is
 * read, and errors (typed) arrive as the stream's 'error'. Memory: the stream's highWaterMark.
 */
export function streamObject(ref: BucketRef, key: string, opts: GetOptions = {}): Readable {
  validateKey(key, ref.name)
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const plan = await planRange(ref, key, opts)
    if (plan.empty) return
    const out = await send(ref, key, plan, opts.signal)
    try {
      for await (const chunk of out.Body as AsyncIterable<Uint8Array>) yield chunk
    } catch (err) {
      throw toBucketflowError(err, { bucket: ref.name, key, operation: 'GetObject' })
    }
  }
  return Readable.from(chunks(), { objectMode: false })
}

/**
 * Download an object into a local file, creating parent folders. The bytes go to a temporary
 * file beside the destination that is renamed into place when complete, so a failed download
 * leaves no partial file. Memory: up to 1 MiB for a small object (written at once), else one
 * stream buffer. Resolves to the path written.
 */
export async function getToFile(ref: BucketRef, key: string, destination: string, opts: GetOptions = {}): Promise<string> {
  validateKey(key, ref.name)
  const where = { bucket: ref.name, key }
  const plan = await planRange(ref, key, opts)
  await mkdir(dirname(destination), { recursive: true })
  const partial = `${destination}.bucketflow-partial-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  try {
    if (plan.empty) await writeFile(partial, '')
    else {
      const out = await send(ref, key, plan, opts.signal)
      // Small objects in one write; larger ones streamed (memory: one stream buffer).
      if ((out.ContentLength ?? Infinity) <= SMALL_OBJECT) await writeFile(partial, await bodyToBuffer(out.Body, where))
      else await pipeline(out.Body as Readable, createWriteStream(partial))
    }
    await rename(partial, destination)
  } catch (err) {
    await rm(partial, { force: true })
    throw toBucketflowError(err, { ...where, operation: 'GetObject' })
  }
  return destination
}

/** One item for {@link getObjects}: a key, or a key and the local path to write it to. */
export type GetItem = string | { key: string; destination?: string }

/** Options for {@link getObjects}. */
export interface GetObjectsOptions extends StageOptions, ByteRange {
  /**
   * Write each object under this folder, mirroring its key as a path (`a/b.png` ->
   * `dir/a/b.png`). Keys that would land outside it fail alone with InvalidArgumentError.
   */
  destination?: string
}

/**
 * A stage that downloads each key it receives, `concurrency` at a time: into memory (value is a
 * Buffer) or, with a destination folder or per-item destination, into files (value is the
 * path). Memory: at most `concurrency` objects in memory when downloading to Buffers; one stream
 * buffer per download when writing files.
 *
 * @example
 * ```ts
 * for await (const r of getObjects(bucket, { destination: 'mirror/' })(bucket.list('cats/'))) {
 *   console.log(r.ok ? `wrote ${r.value}` : `failed ${r.key}: ${r.error.message}`)
 * }
 * ```
 */
export function getObjects(ref: BucketRef, options: GetObjectsOptions = {}) {
  const range: ByteRange = {}
  if (options.start !== undefined) range.start = options.start
  if (options.end !== undefined) range.end = options.end
  return (source: AsyncIterable<GetItem | { key: string }> | Iterable<GetItem>): AsyncGenerator<Result<Buffer | string>> =>
    mapResults(
      source as AsyncIterable<GetItem>,
      (item) => (typeof item === 'string' ? item : item.key),
      async (item, signal): Promise<Buffer | string> => {
        const key = typeof item === 'string' ? item : item.key
        const explicit = typeof item === 'string' ? undefined : item.destination
        validateKey(key, ref.name)
        const opts = { ...range, signal }
        if (explicit !== undefined) return getToFile(ref, key, explicit, opts)
        if (options.destination !== undefined) {
          return getToFile(ref, key, safeDestination(options.destination, key, ref.name), opts)
        }
        return getObject(ref, key, opts)
      },
      { concurrency: ref.concurrency ?? 8, ...options, bucket: ref.name },
    )
}
