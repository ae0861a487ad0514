/**
 * `tail -f` for S3: follow an object as it grows, or a prefix of rotating log objects as new
 * ones appear, and turn the bytes into lines.
 *
 * S3 objects are replaced whole, never appended to, so following one means polling: every
 * `pollMs` one ranged GET from the last byte read (`Range: bytes=<offset-1>-`, with
 * `If-None-Match: <ETag>`), no HEAD: 304 means nothing changed; a 206 whose first byte is the
 * last byte read and that goes further brings the appended bytes (growth is taken to be an
 * append); 416 means the object is now shorter than what was read. When the object shrank, was
 * replaced by different content (same size with a new ETag, or the byte before the read
 * position changed), or was deleted and created again, the tail starts over from byte 0 and
 * says so: a {@link TailReset} marker in the stream (with `markers: true`) and a 'reset' event
 * on the {@link Tail}. One request per poll in the steady state (the byte of overlap is what
 * lets a same-size replacement be seen without a HEAD, also on servers that ignore
 * If-None-Match).
 *
 * Following a prefix (`follow: 'rotation'`, e.g. the objects of `createLogStream`) yields each
 * new object's bytes, whole, in key order (announced by a {@link TailObject} marker / 'object'
 * event), across partitions (`dt=.../`) too; objects that appear with a key before the last one
 * read are not read.
 *
 * Compressed objects (gzip or zstd, by `Content-Encoding` or a `.gz` / `.zst` key) are
 * decompressed (`decompress: false` yields the stored bytes). A compressed object followed with
 * `follow: 'object'` can only be read from its first byte (`from: 'start'`).
 *
 * Stopping: break out of the loop, or abort `signal`; the iteration then ends without an error
 * and the request in flight is aborted.
 *
 * @example
 * ```ts
 * import { tail } from 'bucketflow'
 * const controller = new AbortController()
 * for await (const line of tail(bucket, 'logs/app.log', { signal: controller.signal }).lines()) {
 *   if (line.includes('FATAL')) controller.abort()
 * }
 * ```
 * @packageDocumentation
 */
import type { BucketRef } from '../../bucket-ref.js'
import { InvalidArgumentError } from '../../errors.js'
import { compressionOf } from '../../compression.js'
import { describeValue, validateInteger, validateKey } from '../../validate.js'
import { followObject, followRotation } from './follow.js'
import { Tail, type TailMarker, type TailOptions } from './types.js'

export { Tail, type TailFrom, type TailMarker, type TailObject, type TailOptions, type TailReset } from './types.js'
export { readObjectText } from './read.js'
export { isTailMarker, lines, type LinesOptions } from './lines.js'

function validateOptions(ref: BucketRef, target: string, opts: TailOptions): Required<Pick<TailOptions, 'from' | 'pollMs' | 'follow'>> {
  const follow = opts.follow ?? 'object'
  const from = opts.from ?? 'end'
  const pollMs = opts.pollMs ?? 1000
  const where = { bucket: ref.name }
  if (follow !== 'object' && follow !== 'rotation') {
    throw new InvalidArgumentError(`Expected follow to be 'object' or 'rotation', got ${describeValue(follow)}`, { ...where, argument: 'follow' })
  }
  if (follow === 'object') validateKey(target, ref.name)
  else if (typeof target !== 'string') {
    throw new InvalidArgumentError(`Expected prefix to be a string, got ${describeValue(target)}`, { ...where, argument: 'prefix' })
  }
  const validFrom = from === 'end' || from === 'start' || (follow === 'object' && Number.isSafeInteger(from))
  if (!validFrom) {
    const expected = follow === 'object' ? "'end', 'start' or an integer byte offset" : "'end' or 'start'"
    throw new InvalidArgumentError(`Expected from to be ${expected}, got ${describeValue(from)}`, { ...where, argument: 'from' })
  }
  try {
    validateInteger(pollMs, 'pollMs', 1, 2 ** 31 - 1)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message, { ...where, argument: 'pollMs' })
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`Expected signal to be an AbortSignal, got ${describeValue(opts.signal)}`, { ...where, argument: 'signal' })
  }
  if (opts.decompress !== undefined && typeof opts.decompress !== 'boolean') {
    throw new InvalidArgumentError(`Expected decompress to be a boolean, got ${describeValue(opts.decompress)}`, { ...where, argument: 'decompress' })
  }
  const decompress = opts.decompress ?? true
  if (follow === 'object' && decompress && from !== 'start' && from !== 0 && compressionOf(target) !== 'none') {
    throw new InvalidArgumentError(`${target} is compressed: a tail can only decompress it from its first byte (from: 'start'), or pass decompress: false`, {
      ...where,
      key: target,
      argument: 'from',
    })
  }
  return { follow, from, pollMs }
}

/**
 * Follow an object as it grows (`tail -f`), or, with `follow: 'rotation'`, the new objects
 * under a prefix. Returns a {@link Tail}: iterate it for Buffers (plus {@link TailMarker}s with
 * `markers: true`), listen for 'reset' / 'object', or call `.lines()`. Stops when the loop
 * breaks or `signal` aborts. Memory: one response chunk at a time (and, for a prefix, one
 * listing).
 *
 * @example
 * ```ts
 * // the bytes appended to an object from now on
 * for await (const chunk of tail(bucket, 'job/output.txt', { pollMs: 500 })) process.stdout.write(chunk)
 * // every line of a rotating log, from its first object
 * for await (const line of tail(bucket, 'logs/app/', { follow: 'rotation', from: 'start' }).lines()) console.log(line)
 * ```
 */
export function tail(ref: BucketRef, keyOrPrefix: string, opts?: TailOptions & { markers?: false }): Tail<Buffer>
export function tail(ref: BucketRef, keyOrPrefix: string, opts: TailOptions & { markers: true }): Tail<Buffer | TailMarker>
export function tail(ref: BucketRef, keyOrPrefix: string, opts?: TailOptions): Tail<Buffer> | Tail<Buffer | TailMarker>
export function tail(ref: BucketRef, keyOrPrefix: string, opts: TailOptions = {}): Tail<Buffer> | Tail<Buffer | TailMarker> {
  const { follow, from, pollMs } = validateOptions(ref, keyOrPrefix, opts)
  const source = follow === 'rotation' ? followRotation(ref, keyOrPrefix, opts, from, pollMs) : followObject(ref, keyOrPrefix, opts, from, pollMs)
  return new Tail<Buffer | TailMarker>(source)
}
