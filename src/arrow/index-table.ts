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
import { Table } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import { InvalidArgumentError } from '../errors.js'
import { listPages, type ListPage } from '../stages/list.js'
import { listPartitioned, type ListProgress } from '../stages/partition.js'
import { describeValue } from '../validate.js'
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
  const batches = []
  for await (const batch of toRecordBatches(pages, { columns, batchRows: 65_536 })) batches.push(batch)
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
