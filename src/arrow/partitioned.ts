/**
 * Hive-partitioned Parquet: `writeParquet(batches, root, { partitionBy: { prefix: depth } })`
 * writes one folder per key prefix, `root/prefix=<encoded>/part-00000.parquet`, that DuckDB
 * (`read_parquet('root/*\/*.parquet', hive_partitioning = true)`), Athena and Spark read with the
 * partition as a column, so a query on one prefix reads only that prefix's files.
 *
 * - The partition of a key is its prefix up to and including its `depth`-th '/' (a key with fewer
 *   slashes: up to its last '/'; a key with none: no prefix, written as Hive's
 *   `__HIVE_DEFAULT_PARTITION__`, which engines read as NULL). Values keep their trailing '/', so
 *   `prefix = 'logs/2024/'` is exactly the listing's common prefix. A prefix whose encoded folder
 *   name would pass 255 bytes (a file system's limit for one name) goes to the NULL partition
 *   too; its rows keep their full Key.
 * - Values are percent-encoded (every UTF-8 byte but `A-Z a-z 0-9 . _ ~ -`), so no value can
 *   make a path outside `root`, and engines decode them back (DuckDB does).
 * - Batches need a `Key` column (a listing's or an inventory's). Rows are routed in runs, so
 *   key-ordered input makes few, large batches per file.
 * - At most `maxOpenFiles` (default 8) files are open at once; when another partition comes, the
 *   least recently used file is finished and that partition continues later in `part-00001.parquet`.
 * - The destination folder must be empty (or absent): files of an earlier run would mix with
 *   this one. On failure every file of this call is removed (local files deleted, S3 uploads
 *   aborted and finished objects deleted): no partial dataset is left.
 *
 * Memory: up to `maxOpenFiles` Parquet writers, each bounded by its row group (`rowGroupRows`).
 *
 * @example
 * ```ts
 * import { listPartitioned, toRecordBatches, writeParquet } from 'bucketflow'
 * const batches = toRecordBatches(listPartitioned(bucket, { ordered: true }), { batchRows: 65536 })
 * const { files } = await writeParquet(batches, 'index/', { partitionBy: { prefix: 1 } })
 * // duckdb -c "select prefix, count(*) from read_parquet('index/*\/*.parquet', hive_partitioning = true) group by 1"
 * ```
 * @packageDocumentation
 */
import { mkdir, readdir, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { RecordBatch } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import { BucketflowError, InvalidArgumentError } from '../errors.js'
import { fetchListPage } from '../stages/list.js'
import { describeValue, validateInteger, validateKey } from '../validate.js'
import type { ParquetDestination, WriteParquetOptions, WriteParquetResult } from './parquet.js'
import { DeleteObjectCommand } from '../aws-sdk.cjs'

/** How {@link writeParquet} splits its output into Hive partitions. */
export interface PartitionBy {
  /** Partition by key prefix: this many '/'-separated levels (1 = the first folder). */
  prefix: number
  /** Files open at once. Default 8. */
  maxOpenFiles?: number
}

/** One file of a partitioned write. */
export interface PartitionFile {
  /** The partition value (the key prefix, with its trailing '/'), or null for keys without one. */
  partition: string | null
  /** Local path, or S3 key, of the file. */
  path: string
  rows: number
  bytes: number
}

const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__'
const HEX = '0123456789ABCDEF'

/** The partition value of a key at `depth` levels: its prefix through the depth-th '/', or null. */
export function prefixOf(key: string, depth: number): string | null {
  let at = -1
  for (let i = 0; i < depth; i++) {
    const next = key.indexOf('/', at + 1)
    if (next === -1) break
    at = next
  }
  return at === -1 ? null : key.slice(0, at + 1)
}

/**
 * The partition a key is written under: {@link prefixOf}, or null (Hive's default partition)
 * when the encoded folder name would pass the 255 bytes a file system allows in one name (the
 * row keeps its full Key; only the partition column is NULL for it).
 */
function partitionValue(key: string, depth: number): string | null {
  const value = prefixOf(key, depth)
  // Most values are short: encode only when the folder could be too long.
  if (value === null || value.length * 9 + 7 <= 255) return value
  return Buffer.byteLength(partitionFolder(value)) > 255 ? null : value
}

/** `prefix=<value>` with the value percent-encoded (or Hive's null partition). */
export function partitionFolder(value: string | null): string {
  if (value === null) return `prefix=${HIVE_NULL}`
  let out = ''
  for (const b of Buffer.from(value, 'utf8')) {
    const keep = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2e || b === 0x5f || b === 0x7e || b === 0x2d
    out += keep ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`
  }
  return `prefix=${out}`
}

/** A one-slot channel: `push` resolves once the consumer took the batch (backpressure). */
class Channel implements AsyncIterable<RecordBatch> {
  #item: RecordBatch | undefined
  #taken: (() => void) | undefined
  #ready: (() => void) | undefined
  #closed = false
  #error: unknown
  #gone = false

  push(batch: RecordBatch): Promise<void> {
    if (this.#gone) return Promise.resolve()
    this.#item = batch
    this.#ready?.()
    return new Promise((resolve) => (this.#taken = resolve))
  }

  close(): void {
    this.#closed = true
    this.#ready?.()
  }

  fail(error: unknown): void {
    this.#error = error
    this.#closed = true
    this.#ready?.()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<RecordBatch> {
    try {
      for (;;) {
        if (this.#item !== undefined) {
          const item = this.#item
          this.#item = undefined
          this.#taken?.()
          yield item
          continue
        }
        if (this.#error !== undefined) throw this.#error
        if (this.#closed) return
        await new Promise<void>((resolve) => (this.#ready = resolve))
        this.#ready = undefined
      }
    } finally {
      this.#gone = true
      this.#taken?.()
    }
  }
}

interface OpenFile {
  partition: string | null
  path: string
  channel: Channel
  done: Promise<WriteParquetResult>
  error: unknown
  used: number
}

type WriteOne = (batches: AsyncIterable<RecordBatch>, destination: ParquetDestination, options: WriteParquetOptions) => Promise<WriteParquetResult>

function isS3(d: unknown): d is { bucket: BucketRef; key: string } {
  return d !== null && typeof d === 'object' && 'bucket' in d && 'key' in d
}

/**
 * The partitioned form of writeParquet (called by it when `partitionBy` is given). Resolves to
 * the totals and `files`, one entry per file written.
 */
export async function writePartitioned(
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
  destination: ParquetDestination,
  options: WriteParquetOptions & { partitionBy: PartitionBy },
  writeOne: WriteOne,
): Promise<WriteParquetResult & { files: PartitionFile[] }> {
  const by = options.partitionBy
  if (by === null || typeof by !== 'object')
    throw new InvalidArgumentError(`Expected partitionBy to be { prefix: depth }, got ${describeValue(by)}`, { argument: 'partitionBy' })
  validateInteger(by.prefix, 'partitionBy.prefix', 1, 1024)
  const maxOpen = by.maxOpenFiles ?? 8
  validateInteger(maxOpen, 'partitionBy.maxOpenFiles', 1)
  const { partitionBy: _, ...fileOptions } = options
  let root: string
  let s3: BucketRef | undefined
  if (typeof destination === 'string') {
    if (destination === '') throw new InvalidArgumentError('Expected destination to be a folder path, got ""', { argument: 'destination' })
    root = destination
    const existing = await readdir(root).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[]
      throw err
    })
    if (existing.length > 0)
      throw new InvalidArgumentError(
        `Expected destination ${describeValue(root)} to be an empty or new folder (files of another run would mix with this one), it holds ${existing.length} entries`,
        { argument: 'destination' },
      )
  } else if (isS3(destination)) {
    s3 = destination.bucket
    root = destination.key === '' || destination.key.endsWith('/') ? destination.key : `${destination.key}/`
    if (root !== '') validateKey(root, s3.name, 'destination')
    const page = await fetchListPage(s3, { prefix: root, pageSize: 1, ...(options.signal ? { signal: options.signal } : {}) })
    if (page.objects.length > 0)
      throw new InvalidArgumentError(
        `Expected s3://${s3.name}/${root} to hold no objects (files of another run would mix with this one), found ${page.objects[0]!.key}`,
        { argument: 'destination' },
      )
  } else {
    throw new InvalidArgumentError(
      `Expected destination to be a folder path or { bucket, key: prefix } for a partitioned write, got ${describeValue(destination)}`,
      { argument: 'destination' },
    )
  }

  const open = new Map<string | null, OpenFile>()
  const counters = new Map<string | null, number>()
  const finished: PartitionFile[] = []
  const started: OpenFile[] = []
  let tick = 0
  let total: WriteParquetResult = { rows: 0, batches: 0, rowGroups: 0, bytes: 0 }

  const finish = async (file: OpenFile): Promise<void> => {
    open.delete(file.partition)
    file.channel.close()
    const r = await file.done
    finished.push({ partition: file.partition, path: file.path, rows: r.rows, bytes: r.bytes })
    total = { rows: total.rows + r.rows, batches: total.batches + r.batches, rowGroups: total.rowGroups + r.rowGroups, bytes: total.bytes + r.bytes }
  }

  const fileFor = async (partition: string | null): Promise<OpenFile> => {
    let file = open.get(partition)
    if (file !== undefined) return file
    if (open.size >= maxOpen) {
      let lru: OpenFile | undefined
      for (const f of open.values()) if (lru === undefined || f.used < lru.used) lru = f
      await finish(lru!)
    }
    const n = counters.get(partition) ?? 0
    counters.set(partition, n + 1)
    const folder = partitionFolder(partition)
    const name = `part-${String(n).padStart(5, '0')}.parquet`
    const path = s3 ? `${root}${folder}/${name}` : join(root, folder, name)
    if (s3) validateKey(path, s3.name, 'destination')
    const channel = new Channel()
    const target: ParquetDestination = s3 ? { bucket: s3, key: path } : path
    file = { partition, path, channel, error: undefined, used: tick, done: undefined as unknown as Promise<WriteParquetResult> }
    const created = file
    created.done = writeOne(channel, target, fileOptions)
    created.done.catch((err: unknown) => {
      created.error = err
    })
    open.set(partition, file)
    started.push(file)
    return file
  }

  const send = async (file: OpenFile, batch: RecordBatch): Promise<void> => {
    file.used = ++tick
    await file.channel.push(batch)
    if (file.error !== undefined) throw file.error
  }

  try {
    if (!s3) await mkdir(root, { recursive: true })
    for await (const batch of batches as AsyncIterable<RecordBatch>) {
      const keys = batch?.getChild?.('Key')
      if (keys === null || keys === undefined)
        throw new InvalidArgumentError('Expected batches with a Key column to partition by (a listing or an inventory)', { argument: 'batches' })
      let runStart = 0
      let runPartition: string | null | undefined
      for (let i = 0; i < batch.numRows; i++) {
        const key = keys.get(i) as string | null
        const partition = key === null ? null : partitionValue(key, by.prefix)
        if (i === 0) runPartition = partition
        else if (partition !== runPartition) {
          await send(await fileFor(runPartition!), batch.slice(runStart, i))
          runStart = i
          runPartition = partition
        }
      }
      if (batch.numRows > 0) await send(await fileFor(runPartition!), batch.slice(runStart, batch.numRows))
    }
    for (const file of [...open.values()]) await finish(file)
    finished.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    return { ...total, files: finished }
  } catch (err) {
    for (const file of open.values()) file.channel.fail(err)
    await Promise.allSettled(started.map((f) => f.done))
    // Remove what this call completed: a partial dataset must not look whole.
    const cleanup = await Promise.allSettled(
      finished.map((f) => (s3 ? s3.client.send(new DeleteObjectCommand({ Bucket: s3.name, Key: f.path })) : rm(f.path, { force: true }))),
    )
    // The destination was empty: the partition folders are this call's own.
    if (!s3) await Promise.allSettled([...new Set(started.map((f) => dirname(f.path)))].map((d) => rm(d, { recursive: true, force: true })))
    const failedCleanup = cleanup.filter((c) => c.status === 'rejected').length
    if (failedCleanup > 0) {
      throw new BucketflowError(
        `The partitioned write failed (${(err as Error).message}) and ${failedCleanup} of its finished files could not be removed`,
        { cause: err },
        (err as BucketflowError).code ?? 'Error',
      )
    }
    throw err
  }
}
