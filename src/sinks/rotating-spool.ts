/**
 * The spool side of a rotating log stream: the spool folder, its upload queue, and the objects
 * built while their bytes are spooled ("streamed" objects, stored without reading the file
 * back). The stream decides when objects open and close; this decides how a segment reaches S3.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises'
import type { BucketRef } from '../bucket-ref.js'
import type { ObjectBuild, ObjectWriter, SchemaHolder } from './log-objects.js'
import type { ParquetModule } from './rotating-queue.js'
import { checkRecoveredSegment } from './rotating-keys.js'
import type { Resolved } from './rotating-options.js'
import { META_SPOOL, UploadQueue, type UploadHost, type UploadJob } from './rotating-queue.js'
import { Spool, type SpoolSegment } from './spool.js'

/**
 * A stream's spool with its upload queue. Memory: at most two streamed objects (each a
 * multipart sink bound and a compressor) and the queue's one object at a time.
 */
export class LogSpool {
  readonly spool: Spool
  readonly uploads: UploadQueue
  /** Streamed objects (built while spooled) not yet stored or dropped: at most two. */
  readonly streamed = new Set<ObjectWriter>()
  readonly #o: Resolved
  readonly #host: UploadHost

  /** Open the spool folder (locked for this process) with an upload queue that aborts on `signal`. */
  static async open(ref: BucketRef, prefix: string, o: Resolved, signal: AbortSignal, host: UploadHost): Promise<LogSpool> {
    const spool = await Spool.open(o.spool!, { bucket: ref.name, prefix, fsync: o.fsync, fsyncIntervalMs: o.fsyncIntervalMs })
    return new LogSpool(ref, spool, o, signal, host)
  }

  private constructor(ref: BucketRef, spool: Spool, o: Resolved, signal: AbortSignal, host: UploadHost) {
    this.spool = spool
    this.#o = o
    this.#host = host
    this.uploads = new UploadQueue(ref, spool, signal, host)
  }

  /**
   * Take up what an earlier process left: the Parquet schema it inferred (and keep the one
   * inferred now, for a later process), and its segments, checked and queued for upload.
   */
  async recover(schema: SchemaHolder, where: { bucket: string; prefix: string }, parquet?: ParquetModule): Promise<void> {
    const spool = this.spool
    if (parquet !== undefined && !schema.schema) {
      try {
        schema.schema = parquet.schemaFromJson(JSON.parse(await readFile(spool.schemaPath, 'utf8')))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
      schema.onInferred = (inferred) => {
        // Kept so a later process uses the same schema for what it recovers.
        spool.writeAtomic(spool.schemaPath, `${JSON.stringify(parquet.schemaToJson(inferred))}\n`).catch((err: unknown) => this.#host.fail(err as Error))
      }
    }
    for (const r of spool.recovered) {
      checkRecoveredSegment(r.header, r.path, { ...where, errorPrefix: this.#o.errorPrefix })
      this.uploads.enqueue({
        name: r.name,
        path: r.path,
        header: r.header,
        includePending: r.includePending,
        expectBytes: undefined,
        fileBytes: r.fileBytes,
        recovered: true,
        check: true,
      })
    }
  }

  /** Whether `n` more bytes would overfill the spool (`queuedBytes`: the open segment's, not yet written). */
  full(n: number, queuedBytes: number): boolean {
    const used = this.spool.bytes + queuedBytes
    // A chunk costs its bytes and the framing of a data and a pending record.
    return used > 0 && used + n + 18 > this.#o.maxSpoolBytes
  }

  /** Nothing is being stored that would free room (`openStreamed`: the open object is streamed). */
  idle(openStreamed: boolean): boolean {
    const closingStreamed = this.streamed.size - (openStreamed ? 1 : 0)
    return this.uploads.length === 0 && closingStreamed === 0
  }

  /**
   * The object of a new segment is built while its bytes are spooled (no read back
   * from disk), when nothing waits in the upload queue (objects are stored in key order) and
   * the lines are stored as lines (Parquet objects are built from the file), and at most one
   * earlier streamed object is still being stored (memory: two objects' sinks, as without a
   * spool; writes never wait for an earlier object). One attempt per
   * part: a failure drops the streamed object and the segment is uploaded from its file, with
   * the spool's retries, so writes never wait on an unreachable server.
   */
  streamedWriter(key: string, build: ObjectBuild, name: string): ObjectWriter | undefined {
    if (build.format !== 'lines' || this.uploads.length > 0 || this.uploads.worker || this.streamed.size > 1) return undefined
    const writer = this.#host.createWriter(key, build, { recovered: false, metadata: { [META_SPOOL]: `${this.spool.id}/${name}` }, maxPartAttempts: 1 })
    this.streamed.add(writer)
    return writer
  }

  /** Stop building a streamed object (its segment is uploaded from the file instead). */
  async drop(writer: ObjectWriter, err?: unknown): Promise<void> {
    this.streamed.delete(writer)
    await writer.destroy(err as Error | undefined)
  }

  /** A segment that holds no object bytes: closed and removed, its streamed object dropped. */
  async removeEmpty(segment: SpoolSegment, writer: ObjectWriter | undefined): Promise<void> {
    if (writer) this.streamed.delete(writer)
    await writer?.destroy()
    await segment.closeFile()
    await this.spool.remove(segment.path, segment.fileBytes)
  }

  /** What to wait for when the stream is destroyed: its streamed objects and the upload, stopped. */
  stop(error: Error | undefined): Promise<unknown>[] {
    const stopping: (Promise<unknown> | undefined)[] = [...this.streamed].map((w) => w.destroy(error))
    stopping.push(this.uploads.writer?.destroy(error), this.uploads.worker)
    return stopping.filter((p) => p !== undefined)
  }

  /** The upload job of a sealed segment (`check`: HEAD first, the object may be stored already). */
  jobOf(segment: SpoolSegment, check: boolean): UploadJob {
    return {
      name: segment.name,
      path: segment.path,
      header: segment.header,
      includePending: false,
      expectBytes: segment.contentBytes,
      fileBytes: segment.fileBytes,
      recovered: false,
      check,
    }
  }
}
