/**
 * The follow loops of `tail`: one object (`follow: 'name'`) polled with conditional ranged GETs,
 * and a prefix of rotating objects (`follow: 'rotation'`) polled by listing after the last key.
 * Memory: one GET's chunk at a time.
 *
 * @example
 * ```ts
 * const t = tail(bucket, 'logs/', { follow: 'rotation', pollMs: 500 })
 * ```
 * @packageDocumentation
 */
import { transportOf, type BucketRef } from '../../bucket-ref.js'
import { InvalidArgumentError, NoSuchKeyError, toBucketflowError } from '../../errors.js'
import { compressionOf } from '../../compression.js'
import { sleep } from '../../util/abort.js'
import type { GetInput } from '../get-body.js'
import { following, type TailFrom, type TailMarker, type TailObject, type TailOptions, type TailReset } from './types.js'
import { ChunkDecoder, getObject, Stop, type Answer } from './read.js'

export function followObject(ref: BucketRef, key: string, opts: TailOptions, from: TailFrom, pollMs: number) {
  const markers = opts.markers ?? false
  const decompress = opts.decompress ?? true
  const where = `s3://${ref.name}/${key}`
  return following<Buffer | TailMarker>(opts.signal, async function* (signal, emitter) {
    const hint = key.endsWith('/') ? "to follow the objects under a prefix, pass follow: 'rotation'" : 'pass permitMissing: true to wait for it'
    const missing = () => new NoSuchKeyError(`No such key: ${where} (${hint})`, { bucket: ref.name, key })
    /** Raw bytes of the current version read (or skipped) so far. */
    let offset = 0
    /** The current version when last seen: its ETag, size, and the byte at offset - 1. */
    let seen: { etag: string; size: number; last: number | undefined } | undefined
    /** The object was seen, then found missing. */
    let gone = false
    let decoder: ChunkDecoder | undefined

    /** Start decoding a version of the object read from its first byte, if it is compressed. */
    const startVersion = (encoding: string | undefined) => {
      decoder?.destroy()
      decoder = undefined
      const kind = decompress ? compressionOf(key, encoding) : 'none'
      if (kind !== 'none') decoder = new ChunkDecoder(kind, where)
    }
    const refuseCompressed = (encoding: string | undefined) => {
      if (decompress && compressionOf(key, encoding) !== 'none') {
        throw new InvalidArgumentError(`${where} is compressed: a tail can only decompress it from its first byte (from: 'start'), or pass decompress: false`, {
          bucket: ref.name,
          key,
          argument: 'from',
        })
      }
    }
    /** Yield a body's bytes from `skip` on (decoded when compressed), keeping offset and the last byte. */
    async function* deliver(answer: Extract<Answer, { status: 'ok' }>, skip: number): AsyncGenerator<Buffer> {
      let toSkip = skip
      let last = seen?.last
      for await (const raw of answer.body) {
        if (raw.length > 0) last = raw[raw.length - 1]
        let chunk = raw
        if (toSkip > 0) {
          const n = Math.min(toSkip, chunk.length)
          toSkip -= n
          chunk = chunk.subarray(n)
        }
        if (chunk.length === 0) continue
        offset += chunk.length
        if (decoder) for (const out of await decoder.write(chunk)) yield out
        else yield chunk
      }
      seen = { etag: answer.etag, size: answer.size, last }
    }
    /** Read the object again from byte 0, announcing why. */
    async function* restart(reason: TailReset['reason']): AsyncGenerator<Buffer | TailMarker> {
      const previousSize = seen?.size ?? 0
      const answer = await getObject(ref, key, {}, signal)
      if (answer.status === 'missing') {
        if (!opts.permitMissing) throw missing()
        gone = true
        return
      }
      if (answer.status !== 'ok') return
      const reset: TailReset = { marker: 'reset', key, reason, previousSize, size: answer.size, etag: answer.etag }
      offset = 0
      gone = false
      seen = undefined
      startVersion(answer.encoding)
      emitter.emit('reset', reset)
      if (markers) yield reset
      yield* deliver(answer, 0)
    }

    // Where to start: no request for 'start' or an offset; one GET of the last byte(s) otherwise.
    if (from === 'end' || (typeof from === 'number' && from < 0)) {
      const n = from === 'end' ? 0 : -from
      const answer = await getObject(ref, key, { Range: `bytes=-${n + 1}` }, signal)
      if (answer.status === 'missing' && !opts.permitMissing) throw missing()
      if (answer.status === 'ok') {
        refuseCompressed(answer.encoding)
        const want = Math.max(0, answer.size - n)
        offset = answer.start
        yield* deliver(answer, want - answer.start)
        // Only the bytes from `want` on were wanted: what came before it was skipped, not read.
        offset = answer.size
      }
    } else if (typeof from === 'number' && from > 0) {
      offset = from
    }

    for (let first = true; ; first = false) {
      if (!first && !(await sleep(pollMs, signal))) return
      const whole = gone || offset === 0
      const input: GetInput = whole ? {} : { Range: `bytes=${offset - 1}-` }
      if (seen && !gone) input.IfNoneMatch = seen.etag
      const answer = await getObject(ref, key, input, signal)
      if (answer.status === 'not-modified') continue
      if (answer.status === 'missing') {
        if (!opts.permitMissing) throw missing()
        if (seen) gone = true
        continue
      }
      if (answer.status === 'unsatisfiable') {
        // Shorter than what was read (an empty object at offset 0 is just empty).
        if (seen && offset > 0) yield* restart('shrunk')
        continue
      }
      if (whole) {
        if (gone && seen) {
          const reset: TailReset = { marker: 'reset', key, reason: 'recreated', previousSize: seen.size, size: answer.size, etag: answer.etag }
          gone = false
          offset = 0
          seen = undefined
          startVersion(answer.encoding)
          emitter.emit('reset', reset)
          if (markers) yield reset
        } else if (offset === 0 && !decoder) startVersion(answer.encoding)
        gone = false
        yield* deliver(answer, 0)
        continue
      }
      // A range from the last byte read: check that byte, then what follows is new.
      if (!seen) refuseCompressed(answer.encoding)
      const iterator = answer.body[Symbol.asyncIterator]()
      let head = await iterator.next()
      while (!head.done && head.value.length === 0) head = await iterator.next()
      const firstByte = head.done ? undefined : head.value[0]
      const changed = seen !== undefined && seen.last !== undefined && firstByte !== seen.last
      if (changed || (seen !== undefined && answer.size === offset && answer.etag !== seen.etag)) {
        await iterator.return(undefined)
        yield* restart(answer.size < (seen?.size ?? 0) ? 'shrunk' : 'replaced')
        continue
      }
      const rest = (async function* () {
        if (!head.done) yield head.value
        for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value
      })()
      yield* deliver({ ...answer, body: rest }, 1)
    }
  })
}

async function listAfter(
  ref: BucketRef,
  prefix: string,
  after: string | undefined,
  signal: AbortSignal,
): Promise<{ key: string; size: number; etag: string }[]> {
  const out: { key: string; size: number; etag: string }[] = []
  let token: string | undefined
  do {
    let page
    try {
      page = await transportOf(ref).listObjectsV2(
        {
          Bucket: ref.name,
          ...(prefix ? { Prefix: prefix } : {}),
          ...(after !== undefined && token === undefined ? { StartAfter: after } : {}),
          ...(token ? { ContinuationToken: token } : {}),
        },
        { signal },
      )
    } catch (err) {
      if (signal.aborted) throw new Stop()
      throw toBucketflowError(err, { bucket: ref.name, operation: 'ListObjectsV2' })
    }
    for (const o of page.Contents) out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '' })
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return out
}

export function followRotation(ref: BucketRef, prefix: string, opts: TailOptions, from: TailFrom, pollMs: number) {
  const markers = opts.markers ?? false
  const decompress = opts.decompress ?? true
  return following<Buffer | TailMarker>(opts.signal, async function* (signal, emitter) {
    let after: string | undefined
    if (from === 'end') {
      // Skip what is there now: start after the last key (listing the prefix once).
      const existing = await listAfter(ref, prefix, undefined, signal)
      after = existing.at(-1)?.key
    }
    for (let first = true; ; first = false) {
      if (!first && !(await sleep(pollMs, signal))) return
      for (const object of await listAfter(ref, prefix, after, signal)) {
        const answer = await getObject(ref, object.key, {}, signal)
        if (answer.status !== 'ok') {
          // Deleted since the listing (e.g. by a lifecycle rule): nothing to read.
          after = object.key
          continue
        }
        const marker: TailObject = { marker: 'object', key: object.key, size: object.size, etag: object.etag }
        emitter.emit('object', marker)
        if (markers) yield marker
        const kind = decompress ? compressionOf(object.key, answer.encoding) : 'none'
        if (kind === 'none') yield* answer.body
        else {
          const decoder = new ChunkDecoder(kind, `s3://${ref.name}/${object.key}`)
          try {
            for await (const chunk of answer.body) yield* await decoder.write(chunk)
            yield* await decoder.end()
          } finally {
            decoder.destroy()
          }
        }
        after = object.key
      }
    }
  })
}
