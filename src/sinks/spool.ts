/**
 * The disk spool of a rotating log stream: every accepted byte is in a local append-only file
 * before the write that brought it is acknowledged, objects are built and uploaded from those
 * files, and a process started later on the same folder finishes what a crashed one left.
 *
 * Layout of the folder:
 * - `spool.json`: `{ version, id, bucket, prefix, generation }`. The spool belongs to one
 *   destination (opening it for another is an error); `generation` counts the processes that
 *   opened it.
 * - `lock`: the pid of the process using the spool (a second live process is refused; a lock
 *   left by a dead process is taken over).
 * - `schema.json`: the Parquet schema once inferred (so a restarted process keeps it).
 * - `<generation>-<seq>.seg`: one file per object, written in order.
 *
 * A segment file is a series of records `[type: u8][length: u32 LE][crc32 of payload: u32 LE]
 * [payload]`:
 * - `H` (first): the object's header as JSON (key, time, seq, how to build it), a newline, then
 *   the partial line carried over from the previous segment, if any.
 * - `D`: bytes of the object.
 * - `P`: part of a line whose newline has not come yet. It becomes object bytes only as part of
 *   a later `D` (the whole line) or, when the stream stops there, as the object's last bytes.
 * - `S`: the seal: the object is complete (JSON `{ bytes }`); nothing follows.
 *
 * A record that is cut short or fails its CRC ends the file (a crash in the middle of an append:
 * that write was never acknowledged). Recovery, a pure function of the files (so a crash during
 * recovery is recovered the same way):
 * - a sealed segment is its `D` bytes;
 * - an unsealed segment followed by another of the same generation is its `D` bytes (its
 *   trailing partial line was copied into the next one's header before it would have been
 *   sealed);
 * - the last segment of a generation, unsealed, is its `D` bytes and its trailing `P` bytes (the
 *   stream stopped there, as if `end()` had been called);
 * - a segment without a valid header holds nothing yet and is removed.
 *
 * fsync policy (`fsync`): `'always'`: `fdatasync` before every write is acknowledged (writes
 * that queue up meanwhile share one), so an acknowledged write survives a power loss;
 * `'interval'` (default): every `fsyncIntervalMs` (default 1000) the open segment is synced, so
 * a power loss loses at most that interval; `'never'`: the operating system decides. In every
 * policy an acknowledged write survives the crash of the process (`kill -9`), since it is in the
 * file before the acknowledgement.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto'
import { constants as fsConstants, writevSync } from 'node:fs'
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import zlib from 'node:zlib'
import { BucketflowError, IntegrityError, InvalidArgumentError } from '../errors.js'

/** When the spool calls fdatasync. */
export type FsyncPolicy = 'always' | 'interval' | 'never'

const TYPE_HEADER = 0x48 // H
const TYPE_DATA = 0x44 // D
const TYPE_PENDING = 0x50 // P
const TYPE_SEAL = 0x53 // S
const RECORD_HEADER = 9
/** Records are at most this long (bigger writes become several records): bounds the reader's buffer. */
export const MAX_RECORD = 1024 * 1024
const READ_BLOCK = 1024 * 1024

/** CRC-32 (IEEE): zlib's native one (Node >= 20.15), else a table. */
const crc32: (data: Uint8Array, value?: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (zlib as unknown as { crc32: (d: Uint8Array, v?: number) => number }).crc32
    : (() => {
        const table = new Uint32Array(256)
        for (let n = 0; n < 256; n++) {
          let c = n
          for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
          table[n] = c >>> 0
        }
        return (data: Uint8Array, value = 0) => {
          let c = ~value >>> 0
          for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
          return ~c >>> 0
        }
      })()

/** How a segment's object is built: stored in its header, so a later process builds the same object. */
export interface SegmentHeader {
  v: 1
  /** The object's key. */
  key: string
  /** When the object was opened (ms since the epoch). */
  time: number
  seq: number
  /** Bytes of a partial line carried over from the previous segment (they follow the JSON in the header record). */
  carried: number
  /** What the stream was configured to build; opaque to the spool. */
  build: Record<string, unknown>
}

/** A segment found when the spool was opened: what to upload, and how. */
export interface RecoveredSegment {
  name: string
  path: string
  header: SegmentHeader
  /** Include the trailing partial line (the stream stopped in the middle of it). */
  includePending: boolean
  /** Sealed by the process that wrote it. */
  sealed: boolean
  fileBytes: number
}

interface SpoolFile {
  version: 1
  id: string
  bucket: string
  prefix: string
  generation: number
}

/**
 * The spool folder is in use by another live process (its pid is in the folder's `lock`).
 *
 * @example
 * ```ts
 * const log = createLogStream(bucket, 'app/', { spool: '/var/spool/app' })
 * log.done.catch((err) => {
 *   if (err instanceof SpoolLockedError) console.error('another shipper is running on this spool')
 * })
 * ```
 */
export class SpoolLockedError extends BucketflowError {
  constructor(message: string, fields: { cause?: unknown } = {}) {
    super(message, fields, 'SpoolLocked')
  }
}

function frame(type: number, payload: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(RECORD_HEADER)
  head[0] = type
  head.writeUInt32LE(payload.length, 1)
  head.writeUInt32LE(crc32(payload), 5)
  return head
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined
  try {
    fh = await open(dir, fsConstants.O_RDONLY)
    await fh.sync()
  } catch {
    // Some platforms cannot open or sync a directory; the files themselves are synced.
  } finally {
    await fh?.close()
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** One record of a segment file, as read back: its type and payload (a view of a read block that is never reused). */
interface RecordView {
  type: number
  payload: Buffer
}

/**
 * Read the valid records of a segment file in order; stops at the first record that is cut
 * short, fails its CRC or has an unknown type (the torn end of a crashed append). Memory: one
 * read block (1 MiB, or one record when longer) at a time, plus the blocks the consumer still
 * holds views of.
 */
async function* readRecords(path: string): AsyncGenerator<RecordView> {
  const fh = await open(path, 'r')
  try {
    const size = (await fh.stat()).size
    let consumed = 0
    let buf = Buffer.alloc(0)
    let start = 0
    let position = 0
    /** Make `need` bytes available from `start`; a new buffer each time, so views handed out stay valid. */
    const fill = async (need: number): Promise<boolean> => {
      if (buf.length - start >= need) return true
      if (position >= size) return false
      const rest = buf.length - start
      const next = Buffer.allocUnsafe(Math.max(need, Math.min(READ_BLOCK, size - position + rest)))
      buf.copy(next, 0, start)
      let end = rest
      while (end < next.length && position < size) {
        const { bytesRead } = await fh.read(next, end, next.length - end, position)
        if (bytesRead === 0) break
        position += bytesRead
        end += bytesRead
      }
      buf = next.subarray(0, end)
      start = 0
      return buf.length >= need
    }
    for (;;) {
      if (!(await fill(RECORD_HEADER))) return
      const type = buf[start]!
      const length = buf.readUInt32LE(start + 1)
      const crc = buf.readUInt32LE(start + 5)
      if (type !== TYPE_HEADER && type !== TYPE_DATA && type !== TYPE_PENDING && type !== TYPE_SEAL) return
      // A length past the end of the file: a torn header (and never a huge allocation).
      if (consumed + RECORD_HEADER + length > size) return
      if (!(await fill(RECORD_HEADER + length))) return
      const payload = buf.subarray(start + RECORD_HEADER, start + RECORD_HEADER + length)
      if (crc32(payload) !== crc) return
      start += RECORD_HEADER + length
      consumed += RECORD_HEADER + length
      yield { type, payload }
      if (type === TYPE_SEAL) return
    }
  } finally {
    await fh.close()
  }
}

function parseHeader(payload: Buffer): { header: SegmentHeader; carry: Buffer } | undefined {
  const nl = payload.indexOf(0x0a)
  if (nl < 0) return undefined
  try {
    const header = JSON.parse(payload.subarray(0, nl).toString('utf8')) as SegmentHeader
    if (header.v !== 1 || typeof header.key !== 'string' || payload.length - nl - 1 !== header.carried) return undefined
    return { header, carry: payload.subarray(nl + 1) }
  } catch {
    return undefined
  }
}

/**
 * The object bytes of a segment file, in order (views of read blocks that are never reused, so
 * the caller may keep them). Throws
 * IntegrityError when the file does not hold what it held when it was written (`expectBytes`).
 *
 * Memory: one read block (1 MiB) and the trailing partial line (at most `maxLineBytes` of the
 * stream that wrote it).
 */
export async function* segmentContent(path: string, includePending: boolean, expectBytes?: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = []
  let bytes = 0
  let sealed = false
  let first = true
  for await (const record of readRecords(path)) {
    if (first) {
      first = false
      const parsed = record.type === TYPE_HEADER ? parseHeader(record.payload) : undefined
      if (!parsed) throw new IntegrityError(`Spool segment ${path} has no valid header`)
      if (parsed.carry.length > 0) pending.push(Buffer.from(parsed.carry))
      continue
    }
    if (record.type === TYPE_DATA) {
      pending = []
      bytes += record.payload.length
      yield record.payload
    } else if (record.type === TYPE_PENDING) pending.push(Buffer.from(record.payload))
    else if (record.type === TYPE_SEAL) sealed = true
  }
  if (includePending && !sealed) {
    for (const piece of pending) {
      bytes += piece.length
      yield piece
    }
  }
  if (expectBytes !== undefined && bytes !== expectBytes) {
    throw new IntegrityError(`Spool segment ${path} holds ${bytes} bytes of the object, expected ${expectBytes}: the file was changed or damaged`)
  }
}

/** Summarize a segment file: header, whether sealed, bytes of D and of trailing P records. */
async function scanSegment(path: string): Promise<{ header: SegmentHeader; sealed: boolean; dataBytes: number; pendingBytes: number } | undefined> {
  let header: SegmentHeader | undefined
  let sealed = false
  let dataBytes = 0
  let pendingBytes = 0
  for await (const record of readRecords(path)) {
    if (!header) {
      const parsed = record.type === TYPE_HEADER ? parseHeader(record.payload) : undefined
      if (!parsed) return undefined
      header = parsed.header
      pendingBytes = parsed.carry.length
      continue
    }
    if (record.type === TYPE_DATA) {
      dataBytes += record.payload.length
      pendingBytes = 0
    } else if (record.type === TYPE_PENDING) pendingBytes += record.payload.length
    else if (record.type === TYPE_SEAL) sealed = true
  }
  return header ? { header, sealed, dataBytes, pendingBytes } : undefined
}

/** Options of {@link Spool.open}. */
export interface SpoolOpenOptions {
  bucket: string
  prefix: string
  fsync: FsyncPolicy
  fsyncIntervalMs: number
}

/**
 * A spool folder in use by this process (see the module documentation).
 *
 * @example
 * ```ts
 * const spool = await Spool.open('/var/spool/app', { bucket: 'logs', prefix: 'app/', fsync: 'interval', fsyncIntervalMs: 1000 })
 * for (const r of spool.recovered) console.log('left by an earlier run:', r.header.key)
 * ```
 */
export class Spool {
  readonly dir: string
  /** Random id of the spool folder, written into every object's metadata. */
  readonly id: string
  /** This process's generation (1 for the first process that used the folder). */
  readonly generation: number
  readonly fsync: FsyncPolicy
  /** Segments left by earlier processes, oldest first, to be uploaded before anything new. */
  readonly recovered: RecoveredSegment[]
  /** Bytes of all segment files in the folder. */
  bytes: number
  readonly #lockPath: string
  #open = new Set<SpoolSegment>()
  #timer: NodeJS.Timeout | undefined
  #spaceWaiters: (() => void)[] = []
  #closed = false

  private constructor(dir: string, id: string, generation: number, opts: SpoolOpenOptions, recovered: RecoveredSegment[], bytes: number) {
    this.dir = dir
    this.id = id
    this.generation = generation
    this.fsync = opts.fsync
    this.recovered = recovered
    this.bytes = bytes
    this.#lockPath = join(dir, 'lock')
    if (opts.fsync === 'interval') {
      this.#timer = setInterval(() => {
        for (const s of this.#open) s.syncIfDirty().catch(() => undefined)
      }, opts.fsyncIntervalMs)
      this.#timer.unref()
    }
  }

  /** Open (creating it if needed) and lock a spool folder; scan what earlier processes left. */
  static async open(dir: string, opts: SpoolOpenOptions): Promise<Spool> {
    try {
      await mkdir(dir, { recursive: true })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST' || code === 'ENOTDIR') throw new InvalidArgumentError(`The spool ${dir} is not a folder`, { argument: 'spool', cause: err })
      throw err
    }
    const lockPath = join(dir, 'lock')
    await Spool.#lock(lockPath)
    try {
      const metaPath = join(dir, 'spool.json')
      let meta: SpoolFile | undefined
      try {
        meta = JSON.parse(await readFile(metaPath, 'utf8')) as SpoolFile
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new InvalidArgumentError(`${metaPath} is not a bucketflow spool file: ${(err as Error).message}`, { argument: 'spool', cause: err })
        }
      }
      if (meta && (meta.version !== 1 || meta.bucket !== opts.bucket || meta.prefix !== opts.prefix)) {
        throw new InvalidArgumentError(
          `The spool ${dir} belongs to s3://${meta.bucket}/${meta.prefix}, not s3://${opts.bucket}/${opts.prefix}; use another folder`,
          { argument: 'spool', bucket: opts.bucket },
        )
      }
      const next: SpoolFile = meta
        ? { ...meta, generation: meta.generation + 1 }
        : { version: 1, id: randomBytes(8).toString('hex'), bucket: opts.bucket, prefix: opts.prefix, generation: 1 }
      const tmp = join(dir, `spool.json.${process.pid}.tmp`)
      await writeFile(tmp, `${JSON.stringify(next)}\n`, { flag: 'w' })
      if (opts.fsync !== 'never') {
        const fh = await open(tmp, 'r+')
        await fh.sync().finally(() => fh.close())
      }
      await rename(tmp, metaPath)
      if (opts.fsync !== 'never') await fsyncDir(dir)

      const names = (await readdir(dir)).filter((n) => /^\d{8}-\d{10}\.seg$/.test(n)).sort()
      const recovered: RecoveredSegment[] = []
      let bytes = 0
      const scans = []
      for (const name of names) {
        const path = join(dir, name)
        scans.push({ name, path, scan: await scanSegment(path), size: (await stat(path)).size })
      }
      for (let i = 0; i < scans.length; i++) {
        const { name, path, scan, size } = scans[i]!
        if (!scan) {
          // A crash while the file was being created: no acknowledged byte is in it.
          await unlink(path)
          continue
        }
        const generation = name.slice(0, 8)
        const nextOfSame = scans.slice(i + 1).find((s) => s.scan !== undefined && s.name.slice(0, 8) === generation)
        const includePending = !scan.sealed && nextOfSame === undefined
        if (scan.dataBytes === 0 && !(includePending && scan.pendingBytes > 0)) {
          // Nothing of the object in it (opened, then the process stopped).
          await unlink(path)
          continue
        }
        recovered.push({ name, path, header: scan.header, includePending, sealed: scan.sealed, fileBytes: size })
        bytes += size
      }
      return new Spool(dir, next.id, next.generation, opts, recovered, bytes)
    } catch (err) {
      await unlink(lockPath).catch(() => undefined)
      throw err
    }
  }

  /**
   * Take the folder's lock: a file holding our pid, made complete under a temporary name and
   * linked into place (link fails if the lock exists, so no one ever reads a half-written lock).
   * A lock whose process is gone is taken over under a second lock (`lock.takeover`), after
   * reading it again: two processes that both found it stale cannot both take it.
   */
  static async #lock(lockPath: string): Promise<void> {
    const mine = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}`
    await writeFile(mine, `${process.pid}\n`)
    try {
      for (let attempt = 0; attempt < 50; attempt++) {
        if (await linkOnce(mine, lockPath)) return
        const pid = await readPid(lockPath)
        if (pid === undefined) continue // released meanwhile: try again
        if (isAlive(pid)) throw new SpoolLockedError(`The spool ${lockPath.slice(0, -'/lock'.length)} is in use by process ${pid}`)
        // Left by a process that is gone: take it over, one process at a time.
        const takeover = `${lockPath}.takeover`
        if (!(await linkOnce(mine, takeover))) {
          const holder = await readPid(takeover)
          if (holder !== undefined && !isAlive(holder)) await unlink(takeover).catch(() => undefined)
          await new Promise((resolve) => setTimeout(resolve, 20))
          continue
        }
        try {
          if ((await readPid(lockPath)) === pid) await unlink(lockPath).catch(() => undefined)
        } finally {
          await unlink(takeover).catch(() => undefined)
        }
      }
      throw new SpoolLockedError(`Could not lock ${lockPath}: other processes keep taking it`)
    } finally {
      await unlink(mine).catch(() => undefined)
    }
  }

  /** Where the inferred Parquet schema is kept. */
  get schemaPath(): string {
    return join(this.dir, 'schema.json')
  }

  /** Write a small file atomically (temporary name, fsync, rename). */
  async writeAtomic(path: string, text: string): Promise<void> {
    const tmp = `${path}.${process.pid}.tmp`
    await writeFile(tmp, text)
    if (this.fsync !== 'never') {
      const fh = await open(tmp, 'r+')
      await fh.sync().finally(() => fh.close())
    }
    await rename(tmp, path)
    if (this.fsync !== 'never') await fsyncDir(this.dir)
  }

  /**
   * Create the next segment file of this generation, its header (and carried partial line)
   * written and, unless fsync is 'never', synced.
   */
  async createSegment(header: SegmentHeader, carry: Buffer | undefined): Promise<SpoolSegment> {
    const name = `${String(this.generation).padStart(8, '0')}-${String(header.seq).padStart(10, '0')}.seg`
    const path = join(this.dir, name)
    const fh = await open(path, 'wx')
    const segment = new SpoolSegment(this, name, path, header, fh)
    this.#open.add(segment)
    const json = Buffer.from(`${JSON.stringify({ ...header, carried: carry?.length ?? 0 })}\n`)
    const payload = carry && carry.length > 0 ? Buffer.concat([json, carry]) : json
    await segment.appendRaw([frame(TYPE_HEADER, payload), payload])
    if (this.fsync !== 'never') {
      await segment.sync()
      await fsyncDir(this.dir)
    }
    return segment
  }

  /** Account for bytes written (positive) or removed (negative); wakes writers waiting for space. */
  account(delta: number): void {
    this.bytes += delta
    if (delta < 0) {
      const waiters = this.#spaceWaiters
      this.#spaceWaiters = []
      for (const w of waiters) w()
    }
  }

  /** Resolves the next time space is freed (or the spool closes). */
  spaceFreed(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    return new Promise((resolve) => this.#spaceWaiters.push(resolve))
  }

  /** Remove a segment file whose object is stored. */
  async remove(path: string, fileBytes: number): Promise<void> {
    await rm(path, { force: true })
    this.account(-fileBytes)
  }

  /** @internal */
  forget(segment: SpoolSegment): void {
    this.#open.delete(segment)
  }

  /** Stop the fsync timer, sync what is open, close files and release the lock. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    for (const s of [...this.#open]) await s.closeFile()
    const waiters = this.#spaceWaiters
    this.#spaceWaiters = []
    for (const w of waiters) w()
    await unlink(this.#lockPath).catch(() => undefined)
  }
}

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

/** Hard-link `from` to `to`; false when `to` exists. */
async function linkOnce(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
}

/** The pid in a lock file, or undefined when there is no such file. */
async function readPid(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)))
  return text === undefined ? undefined : Number(text.trim())
}
