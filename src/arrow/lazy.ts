/**
 * The main entry's listing-to-Arrow and Parquet functions. Each loads its implementation (and
 * with it apache-arrow, and parquet-wasm where Parquet is read or written) on its first call, so
 * `import 'bucketflow'` costs neither. The synchronous functions that return Arrow values
 * (`listingSchema`, `inferSchema`, `schemaFromJson`, `schemaToJson`) are exported by
 * `bucketflow/arrow`.
 *
 * @example
 * ```ts
 * import { Bucket, listPartitioned, toRecordBatches, writeParquet } from 'bucketflow'
 * const bucket = new Bucket('my-data')
 * await writeParquet(toRecordBatches(listPartitioned(bucket, { concurrency: 16 })), 'index.parquet')
 * ```
 * @packageDocumentation
 */
import type { RecordBatch, Table } from 'apache-arrow'
import type { BucketRef } from '../bucket-ref.js'
import type { InventoryManifest } from '../scale/inventory-manifest.js'
import type { ReadInventoryOptions } from '../scale/read-inventory.js'
import type { IndexOptions } from './index-table.js'
import type { ParquetDestination, WriteParquetOptions, WriteParquetResult } from './parquet.js'
import type { PageLike, RecordBatchOptions } from './record-batches.js'

/**
 * A stage: listing pages in, Arrow record batches out, one fixed schema for every batch (see
 * `listingSchema` in `bucketflow/arrow`). Empty pages make no batch, but a listing with no rows
 * at all yields one batch of 0 rows. Options are checked when the first batch is asked for.
 * Memory: one output batch plus a reused scratch buffer.
 *
 * @example
 * ```ts
 * import { listPages, toRecordBatches, writeParquet } from 'bucketflow'
 * const batches = toRecordBatches(listPages(bucket, { prefix: 'logs/' }), { batchRows: 65536 })
 * await writeParquet(batches, 'logs-index.parquet')
 * ```
 */
export async function* toRecordBatches(
  pages: AsyncIterable<PageLike> | Iterable<PageLike>,
  options: RecordBatchOptions = {},
): AsyncGenerator<RecordBatch, void, undefined> {
  const impl = await import('./record-batches.js')
  yield* impl.toRecordBatches(pages, options)
}

/**
 * Write record batches as one Parquet file, streaming, to a local path (renamed into place when
 * complete), a Node Writable, or `{ bucket, key }` (a multipart upload, aborted on failure).
 * Memory: one row group (`rowGroupRows`) of wasm memory plus the destination's buffers.
 *
 * @example
 * ```ts
 * const batches = toRecordBatches(listPages(bucket), { batchRows: 65536 })
 * const { rows, bytes } = await writeParquet(batches, 'index.parquet', { compression: 'zstd' })
 * ```
 */
export async function writeParquet(
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
  destination: ParquetDestination,
  options: WriteParquetOptions = {},
): Promise<WriteParquetResult> {
  const impl = await import('./parquet.js')
  return impl.writeParquet(batches, destination, options)
}

/**
 * Read a whole Parquet file (a local path or its bytes) into an Arrow Table. Memory: the file
 * and the table.
 *
 * @example
 * ```ts
 * const table = await readParquet('index.parquet')
 * console.log(table.numRows)
 * ```
 */
export async function readParquet(source: string | Uint8Array): Promise<Table> {
  const impl = await import('./parquet.js')
  return impl.readParquet(source)
}

/**
 * Index a bucket (or a prefix of it) into an Arrow Table in key order, one row per object.
 * Memory: the table (about 100 bytes per key) plus one listing buffer.
 *
 * @example
 * ```ts
 * const table = await indexBucket(bucket, { cache: 'index.parquet' })
 * console.log(table.numRows)
 * ```
 */
export async function indexBucket(ref: BucketRef, options: IndexOptions = {}): Promise<Table> {
  const impl = await import('./index-table.js')
  return impl.indexBucket(ref, options)
}

/**
 * Read an S3 Inventory report (CSV or Parquet) as Arrow record batches, every data file checked
 * against its manifest's size and MD5 before a row of it is yielded. Memory: up to `concurrency`
 * verified data files plus one batch. Options are checked when the first batch is asked for.
 *
 * @example
 * ```ts
 * import { Bucket, readInventory } from 'bucketflow'
 * const inventoryBucket = new Bucket('my-inventory-bucket')
 * const manifestKey = 'my-bucket/daily/2026-12-01T01-00Z/manifest.json'
 * let bytes = 0n
 * for await (const batch of readInventory(inventoryBucket, manifestKey, { columns: ['Key', 'Size'] })) {
 *   for (const size of batch.getChild('Size')!) bytes += size ?? 0n
 * }
 * ```
 */
export async function* readInventory(
  ref: BucketRef,
  manifest: string | InventoryManifest,
  options: ReadInventoryOptions = {},
): AsyncGenerator<RecordBatch, void, undefined> {
  const impl = await import('../scale/read-inventory.js')
  yield* impl.readInventory(ref, manifest, options)
}
