/**
 * The bounded-memory multipart sink: a Node `Writable` that turns whatever is written to it
 * (all at once or intermittently) into the parts of one S3 multipart upload.
 *
 * Memory: the sink holds at most `partSize * (queueSize + 1)` bytes of payload: up to
 * `queueSize` parts being uploaded and one part being filled. When that is reached, `write()`
 * returns false and the sink stops taking data until a part has been uploaded (real
 * backpressure: `pipeline` and `pipe` stop pulling from the source). Written chunks are copied
 * into the part buffers, so no slice ever pins a caller's larger buffer. Beyond that, Node's own
 * write queue holds at most `writableHighWaterMark` (16 KiB by default) plus the chunk that
 * crossed it, for writers that respect `write()`'s return value.
 *
 * The sink itself is `multipart/sink.ts`; its options `multipart/options.ts`, the part buffers
 * and retries `multipart/parts.ts`, the upload's life on the server `multipart/lifecycle.ts`,
 * the proven Complete `multipart/complete.ts`.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * import { createReadStream } from 'node:fs'
 * import { createWriteStream } from 'bucketflow'
 * const sink = createWriteStream(bucket, 'backups/db.dump', { partSize: 16 * 1024 * 1024 })
 * await pipeline(createReadStream('db.dump'), sink)
 * const { size, etag, parts } = await sink.done
 * ```
 * @packageDocumentation
 */
import { pipeline } from 'node:stream/promises'
import type { BucketRef } from '../bucket-ref.js'
import { sourceError, toReadable, type StreamSource } from '../body.js'
import { toBucketflowError } from '../errors.js'
import type { WriteStreamOptions, WriteStreamResult } from './multipart/options.js'
import { MultipartSink } from './multipart/sink.js'

export {
  DEFAULT_MAX_PART_ATTEMPTS,
  DEFAULT_PART_SIZE,
  DEFAULT_QUEUE_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  validateWriteStreamOptions,
  type UploadProgress,
  type WriteStreamOptions,
  type WriteStreamResult,
} from './multipart/options.js'
export { MultipartSink } from './multipart/sink.js'

/**
 * A Writable that uploads everything written to it as the object `key`, in parts of `partSize`
 * (default 8 MiB, at least 5 MiB), `queueSize` (default 4) at once. Memory: at most
 * `partSize * (queueSize + 1)` bytes of payload (40 MiB with the defaults). Await `stream.done`
 * for `{ key, size, etag, parts }`; 'finish' is emitted only after the object is complete.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * const sink = createWriteStream(bucket, 'dumps/2024.sql.gz', { partSize: 16 * 1024 * 1024, queueSize: 2 })
 * await pipeline(process.stdin, sink)
 * console.log((await sink.done).size)
 * ```
 */
export function createWriteStream(ref: BucketRef, key: string, opts: WriteStreamOptions = {}): MultipartSink {
  return new MultipartSink(ref, key, opts)
}

/**
 * Upload a stream of unknown length: a Node Readable, an AsyncIterable of Uint8Array or string
 * chunks, or a web ReadableStream, piped into {@link createWriteStream} with
 * `stream/promises.pipeline`. Resolves to `{ key, size, etag, parts }` once the object is
 * complete and verified; on failure rejects after the multipart upload was aborted (an error of
 * the source itself as a {@link SourceError} whose `cause` is the original). Memory:
 * `partSize * (queueSize + 1)`.
 *
 * @example
 * ```ts
 * declare const db: { query(sql: string): AsyncIterable<object> }
 * async function* rows() {
 *   for await (const row of db.query('select * from events')) yield JSON.stringify(row) + '\n'
 * }
 * const { size } = await putStream(bucket, rows(), 'exports/events.ndjson', { contentType: 'application/x-ndjson' })
 * ```
 */
export async function putStream(ref: BucketRef, source: StreamSource, key: string, opts: WriteStreamOptions = {}): Promise<WriteStreamResult> {
  const sink = createWriteStream(ref, key, opts)
  let readable
  try {
    readable = toReadable(source, key)
  } catch (err) {
    sink.destroy()
    throw err
  }
  try {
    await pipeline(readable, sink)
  } catch (err) {
    // `done` settles after the multipart upload was aborted.
    await sink.done.catch(() => undefined)
    throw sourceError(err, { bucket: ref.name, key }) ?? toBucketflowError(err, { bucket: ref.name, key, operation: 'Upload' }, opts.signal)
  }
  return sink.done
}
