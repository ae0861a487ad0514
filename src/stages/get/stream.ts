/**
 * An object (or a range of it) as a Readable stream.
 */
import { Readable } from 'node:stream'
import type { BucketRef } from '../../bucket-ref.js'
import type { Verification } from '../../checksums.js'
import { AbortError } from '../../errors.js'
import { boundedMap } from '../../results.js'
import type { Stats } from '../get-body.js'
import { begin, failure, type DownloadInfo, type GetOptions } from './options.js'
import { collectPart, openParallel, readPart, type Part } from './ranged.js'
import { sequential, settle } from './sequential.js'
import { check, Verifier } from './verify.js'

/**
 * Stream an object (or a range of it). Returns at once; the requests start when the stream is
 * read, and errors (typed) arrive as the stream's 'error'. A verification failure is an error
 * at the end of the stream (the bytes before it were already handed over: treat the whole
 * stream as failed); on success a `'verified'` event with the {@link DownloadInfo} comes before
 * `'end'`.
 *
 * By default (`rangeConcurrency` 1) it is one GET, streamed through (memory: the stream's
 * highWaterMark). With `rangeConcurrency` > 1, an object (or range) larger than `partSize` is fetched
 * as ranged GETs of `partSize` bytes, `rangeConcurrency` at a time, and its bytes are yielded in
 * order. Memory then: at most `rangeConcurrency` parts, about `partSize * rangeConcurrency` bytes, beyond
 * the chunk its reader is handling: a new part is requested only when the reader has taken one.
 * Destroying the stream (or aborting `signal`) aborts every request in flight.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * await pipeline(streamObject(bucket, 'big.bin', { partSize: 16 * 1024 * 1024 }), process.stdout)
 * ```
 */
export function streamObject(ref: BucketRef, key: string, opts: GetOptions = {}): Readable {
  const run = begin(ref, key, opts)
  const { s, where, controller, signal, dispose } = run
  let readable: Readable | undefined
  // Set once every byte was handed over: nothing is in flight then, so nothing is aborted (and
  // no AbortError is built) when the generator ends or the stream closes.
  let finished = false
  const stop = (message: string) => {
    if (!finished && !controller.signal.aborted) controller.abort(new AbortError(message, where))
  }
  const report = (info: Partial<DownloadInfo>) => readable?.emit('verified', run.report(info))
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      const download = s.rangeConcurrency > 1 ? await openParallel(ref, key, s, signal) : 'sequential'
      if (download === 'sequential') {
        // A stream hands its bytes over as they come: a multipart ETag that does not match a
        // guessed part layout is settled by a second download before the stream ends.
        yield* sequential(ref, key, s, signal, report, (run) => settle(ref, key, s, signal, run))
        finished = true
        return
      }
      const stats: Stats = { resumes: 0 }
      const verifier = new Verifier(download.expectation)
      type Task = Part | 'first'
      const tasks: Task[] = [...(download.first ? ['first' as const] : []), ...download.rest]
      const fetch = async (task: Task): Promise<{ ok: true; bytes: Uint8Array[] } | { ok: false; error: unknown }> => {
        try {
          return { ok: true, bytes: await collectPart(readPart(ref, key, download, task, signal, stats)) }
        } catch (error) {
          controller.abort(failure(error, signal, where))
          return { ok: false, error }
        }
      }
      for await (const r of boundedMap(tasks, fetch, s.rangeConcurrency, true)) {
        if (!r.ok) throw r.error
        for (const b of r.bytes) verifier.update(b)
        yield* r.bytes
      }
      let verified: Verification = s.verify ? 'size' : 'none'
      if (download.expectation && verifier.hasher)
        verified = await settle(ref, key, s, signal, () => check(ref, key, download.expectation!, verifier.hasher!.digest(), s, signal))
      report({
        verified,
        size: download.size,
        resumes: stats.resumes,
        ...(download.total !== undefined ? { objectSize: download.total } : {}),
        ...(download.etag ? { etag: download.etag } : {}),
      })
      finished = true
    } catch (err) {
      throw failure(err, signal, where)
    } finally {
      dispose()
      stop('The consumer stopped')
    }
  }
  readable = Readable.from(chunks(), { objectMode: false })
  // Destroying the stream aborts the requests in flight at once (the generator only learns of it
  // at its next step).
  readable.once('close', () => stop('The stream was destroyed'))
  return readable
}
