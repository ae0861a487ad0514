/**
 * The segment file being written: appends queued and written together (one `writev`), with
 * the spool's fsync policy (see spool.ts).
 *
 * @packageDocumentation
 */
import { writevSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { BucketflowError } from '../errors.js'
import { frame, MAX_RECORD, RECORD_HEADER, TYPE_DATA, TYPE_PENDING, TYPE_SEAL, type SegmentHeader } from './spool-format.js'
import type { Spool } from './spool.js'

/**
 * The segment file being written. Appends are queued with {@link SpoolSegment.data} /
 * {@link SpoolSegment.pending} and written together by {@link SpoolSegment.flush} (one
 * `writev`, one fdatasync with fsync 'always').
 */
export class SpoolSegment {
  readonly name: string
  readonly path: string
  readonly header: SegmentHeader
  /** Object bytes (D records) written so far. */
  contentBytes = 0
  /** Bytes of the file. */
  fileBytes = 0
  readonly #spool: Spool
  #fh: FileHandle | undefined
  #queue: Buffer[] = []
  #queuedBytes = 0
  #dirty = false
  #syncing: Promise<void> | undefined

  constructor(spool: Spool, name: string, path: string, header: SegmentHeader, fh: FileHandle) {
    this.#spool = spool
    this.name = name
    this.path = path
    this.header = header
    this.#fh = fh
  }

  #queueRecord(type: number, bytes: Buffer): void {
    for (let at = 0; at < bytes.length; at += MAX_RECORD) {
      const piece = at === 0 && bytes.length <= MAX_RECORD ? bytes : bytes.subarray(at, Math.min(bytes.length, at + MAX_RECORD))
      this.#queue.push(frame(type, piece), piece)
      this.#queuedBytes += RECORD_HEADER + piece.length
    }
  }

  /** Queue object bytes. The buffer must not change until the next flush resolves. */
  data(bytes: Buffer): void {
    if (bytes.length === 0) return
    this.contentBytes += bytes.length
    this.#queueRecord(TYPE_DATA, bytes)
  }

  /** Queue part of a line that has no newline yet. */
  pending(bytes: Buffer): void {
    if (bytes.length > 0) this.#queueRecord(TYPE_PENDING, bytes)
  }

  /** Bytes queued and not yet written. */
  get queuedBytes(): number {
    return this.#queuedBytes
  }

  /**
   * @internal Write buffers as they are. A synchronous `writev` into the page cache: measured
   * at a fifth of the CPU of the thread-pool round trip of `FileHandle.writev` for 64 KiB
   * appends (fdatasync stays asynchronous).
   */
  async appendRaw(buffers: Buffer[]): Promise<void> {
    const fh = this.#fh
    if (!fh) throw new BucketflowError(`Spool segment ${this.path} is closed`, {}, 'SpoolClosed')
    let total = 0
    for (const b of buffers) total += b.length
    let list = buffers
    let left = total
    while (left > 0) {
      const bytesWritten = writevSync(fh.fd, list)
      left -= bytesWritten
      if (left === 0) break
      // A short write: continue after what was written.
      let skip = bytesWritten
      const rest: Buffer[] = []
      for (const b of list) {
        if (skip >= b.length) skip -= b.length
        else {
          rest.push(skip > 0 ? b.subarray(skip) : b)
          skip = 0
        }
      }
      list = rest
    }
    this.fileBytes += total
    this.#spool.account(total)
    this.#dirty = true
  }

  /** Write what is queued (and fdatasync it with fsync 'always'). */
  async flush(): Promise<void> {
    if (this.#queue.length > 0) {
      const queue = this.#queue
      this.#queue = []
      this.#queuedBytes = 0
      // writev takes at most IOV_MAX (1024) buffers at once.
      for (let i = 0; i < queue.length; i += 1024) await this.appendRaw(queue.slice(i, i + 1024))
    }
    if (this.#spool.fsync === 'always' && this.#dirty) await this.sync()
  }

  /** fdatasync the file now (concurrent callers share one). */
  async sync(): Promise<void> {
    if (this.#syncing) return this.#syncing
    const fh = this.#fh
    if (!fh) return
    this.#dirty = false
    this.#syncing = fh.datasync().finally(() => {
      this.#syncing = undefined
    })
    return this.#syncing
  }

  /** @internal For fsync 'interval'. */
  async syncIfDirty(): Promise<void> {
    if (this.#dirty) await this.sync()
  }

  /** Write what is queued and the seal record, sync (unless fsync is 'never') and close the file. */
  async seal(): Promise<void> {
    this.#queueRecord(TYPE_SEAL, Buffer.from(JSON.stringify({ bytes: this.contentBytes })))
    await this.flush()
    if (this.#spool.fsync === 'interval' && this.#dirty) await this.sync()
    await this.closeFile()
  }

  /** Close the file without sealing (the stream stops; what is in the file is recovered later). */
  async closeFile(): Promise<void> {
    const fh = this.#fh
    if (!fh) return
    this.#fh = undefined
    this.#spool.forget(this)
    await this.#syncing?.catch(() => undefined)
    if (this.#spool.fsync !== 'never' && this.#dirty) await fh.datasync().catch(() => undefined)
    await fh.close()
  }
}
