/**
 * One object (or a range of it) into memory.
 */
import type { BucketRef } from '../../bucket-ref.js'
import { AbortError } from '../../errors.js'
import { begin, failure, type DownloadInfo, type GetOptions } from './options.js'
import { sequential } from './sequential.js'
import { withVerifyRetry } from './verify.js'

/**
 * Download an object (or a range of it) into one Buffer. Memory: the object's (range's) size.
 *
 * @example
 * ```ts
 * const head = await getObject(bucket, 'data.bin', { start: 0, end: 4 }) // the first 4 bytes
 * const all = await getObject(bucket, 'data.bin', { onVerified: (i) => console.log(i.verified) }) // 'md5'
 * ```
 */
export async function getObject(ref: BucketRef, key: string, opts: GetOptions = {}): Promise<Buffer> {
  const run = begin(ref, key, opts)
  const { s, where, controller, signal, dispose } = run
  let finished = false
  try {
    const buffer = await withVerifyRetry(ref, key, s, signal, async (settings, n) => {
      run.attempts = n
      let pending: Partial<DownloadInfo> | undefined
      const chunks: Uint8Array[] = []
      for await (const chunk of sequential(ref, key, settings, signal, (i) => (pending = i))) chunks.push(chunk)
      const buffer = chunks.length === 1 ? Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength) : Buffer.concat(chunks)
      if (pending) run.report(pending)
      return buffer
    })
    finished = true
    return buffer
  } catch (err) {
    throw failure(err, signal, where)
  } finally {
    dispose()
    // After a failure, stop whatever is still in flight; a finished download has nothing left
    // to stop (and builds no error for it).
    if (!finished) controller.abort(new AbortError('The download finished', where))
  }
}
