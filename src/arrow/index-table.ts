/**
 * A bucket's index as an Arrow Table in memory: hostess's `df()`, built from a (partitioned)
 * listing, optionally cached in a local Parquet file.
 *
 * @example
 * ```ts
 * import { indexBucket } from 'bucketflow'
 * const table = await indexBucket(bucket, { prefix: 'logs/', cache: 'logs-index.parquet' })
 * console.log(table.numRows, table.getChild('Size')?.get(0))
 * ```
 * @packageDocumentation
 */
import { stat } from 'node:fs/promises'
import { Table, type RecordBatch } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import { InvalidArgumentError } from '../errors.js'
import { listPages, type ListPage } from '../stages/list.js'
import { listPartitioned, type ListProgress } from '../stages/partition/index.js'
import { describeValue } from '../validate.js'
import type { InventoryManifest } from '../scale/inventory-manifest.js'
import { readParquet, writeParquet, type ParquetCompression } from './parquet.js'
import { DEFAULT_LISTING_COLUMNS, listingSchema, toRecordBatches, validateColumns, type ListingColumn } from './record-batches.js'

/** Options for {@link indexBucket} (and `bucket.index`). */
export interface IndexOptions {
  /** Index only keys under this prefix. */
  prefix?: string
  /** List the key space in parallel ranges ({@link listPartitioned}). Default true. */
  partitioned?: boolean
  /** Requests in flight for a partitioned listing. Default: the bucket's `concurrency`. */
  concurrency?: number
  /**
   * A local Parquet file: read from it when it exists (no request at all), else list the bucket
   * and write it. Use `refresh: true` to list again and rewrite it.
   */
  cache?: string
  /** Ignore an existing `cache` file: list again (and rewrite the file). Default false. */
  refresh?: boolean
  /** Columns of the table. Default Key, LastModified, ETag, Size, StorageClass. */
  columns?: readonly ListingColumn[]
  /** Compression of the cache file. Default 'zstd'. */
  compression?: ParquetCompression
  signal?: AbortSignal
  /** Listing progress: `{ keys, pages, rangesDone, rangesTotal }`. */
  onProgress?: (progress: ListProgress) => void
  /**
   * Build the index from an S3 Inventory report of this bucket instead of listing it: `inventory`
   * is the key of the report's manifest.json (or a manifest read with readInventoryManifest), in
   * the bucket `from` (the report's destination bucket; default: the manifest's own bucket, else
   * this one). No LIST request is made; rows come in the report's order, as of the report's date.
   * A report of another source bucket is refused (InvalidArgumentError).
   */
  source?: { inventory: string | InventoryManifest; from?: BucketRef }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}

/**
 * Index a bucket (or a prefix of it) into an Arrow Table in key order, one row per object, with
 * the columns of {@link listingSchema}. With `cache`, the table is read from that Parquet file
 * when it exists and written to it after listing otherwise. Memory: the table (about 100 bytes
 * per key) plus one listing buffer.
 *
 * @example
 * ```ts
 * const table = await indexBucket(bucket, { cache: 'index.parquet' })
 * const big = table.toArray().filter((row) => row.Size > 1_000_000_000n)
 * ```
 */
export async function indexBucket(ref: BucketRef, options: IndexOptions = {}): Promise<Table> {
  const columns = options.columns ?? DEFAULT_LISTING_COLUMNS
  validateColumns(columns)
  if (options.cache !== undefined && (typeof options.cache !== 'string' || options.cache === '')) {
    throw new InvalidArgumentError(`Expected cache to be a file path, got ${describeValue(options.cache)}`, { argument: 'cache' })
  }
  if (options.cache !== undefined && !options.refresh && (await exists(options.cache))) {
    const cached = await readParquet(options.cache)
    // A cache written with other columns is not this index: list again and rewrite it.
    const names = cached.schema.fields.map((f) => f.name)
    if (names.length === columns.length && names.every((n, i) => n === columns[i])) return cached
  }
  const prefix = options.prefix ?? ''
  if (options.source !== undefined) return indexFromInventory(ref, options, columns, prefix)
  const fetchOwner = columns.includes('Owner')
  const common = {
    ...(prefix ? { prefix } : {}),
    ...(fetchOwner ? { fetchOwner } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  }
  let pages: AsyncIterable<ListPage>
  if (options.partitioned ?? true) {
    pages = listPartitioned(ref, {
      ...common,
      ordered: true,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    })
  } else {
    pages = countProgress(listPages(ref, common), options.onProgress)
  }
  return tableOf(toRecordBatches(pages, { columns, batchRows: 65_536 }), columns, options)
}

/** Collect batches into a Table (an empty one has the listing schema), and write `cache` when asked. */
async function tableOf(source: AsyncIterable<RecordBatch>, columns: readonly ListingColumn[], options: IndexOptions): Promise<Table> {
  const batches = []
  for await (const batch of source) batches.push(batch)
  const table = batches.length > 0 ? new Table(batches) : new Table(listingSchema(columns))
  if (options.cache !== undefined) {
    await writeParquet(table.batches, options.cache, {
      ...(options.compression ? { compression: options.compression } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    })
  }
  return table
}

async function* countProgress(pages: AsyncIterable<ListPage>, onProgress: ((p: ListProgress) => void) | undefined): AsyncGenerator<ListPage> {
  let keys = 0
  let n = 0
  for await (const page of pages) {
    keys += page.objects.length
    n++
    onProgress?.({ keys, pages: n, rangesDone: 0, rangesTotal: 1 })
    yield page
  }
  onProgress?.({ keys, pages: n, rangesDone: 1, rangesTotal: 1 })
}

async function indexFromInventory(ref: BucketRef, options: IndexOptions, columns: readonly ListingColumn[], prefix: string): Promise<Table> {
  const source = options.source as { inventory?: unknown; from?: BucketRef }
  if (
    source === null ||
    typeof source !== 'object' ||
    (typeof source.inventory !== 'string' && (source.inventory === null || typeof source.inventory !== 'object'))
  ) {
    throw new InvalidArgumentError(`Expected source to be { inventory: manifestKey, from? }, got ${describeValue(source)}`, { argument: 'source' })
  }
  const { readInventory } = await import('../scale/read-inventory.js')
  const { readInventoryManifest } = await import('../scale/inventory-manifest.js')
  const given = source.inventory as string | InventoryManifest
  const from: BucketRef = source.from ?? (typeof given === 'object' && given.bucket !== ref.name ? { client: ref.client, name: given.bucket } : ref)
  const manifest = typeof given === 'string' ? await readInventoryManifest(from, given, options.signal ? { signal: options.signal } : {}) : given
  if (manifest.sourceBucket !== ref.name) {
    throw new InvalidArgumentError(`The inventory report s3://${from.name}/${manifest.key} lists bucket ${manifest.sourceBucket}, not ${ref.name}`, {
      argument: 'source',
      bucket: ref.name,
    })
  }
  const batches = readInventory(from, manifest, { columns, ...(prefix ? { prefix } : {}), ...(options.signal ? { signal: options.signal } : {}) })
  return tableOf(batches, columns, options)
}
