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
 * The segment files' format and their recovery: see spool-format.ts.
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
import { constants as fsConstants } from 'node:fs'
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { BucketflowError, InvalidArgumentError } from '../errors.js'
import { frame, scanSegment, TYPE_HEADER, type RecoveredSegment, type SegmentHeader } from './spool-format.js'
import { SpoolSegment } from './spool-segment.js'

export { MAX_RECORD, segmentContent, type RecoveredSegment, type SegmentHeader } from './spool-format.js'
export { SpoolSegment } from './spool-segment.js'

/** When the spool calls fdatasync. */
export type FsyncPolicy = 'always' | 'interval' | 'never'

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
