/**
 * bucketflow: stream-first S3 for data engineers.
 *
 * @example
 * ```ts
 * import { Bucket, getObjects } from 'bucketflow'
 * const bucket = new Bucket('my-data')
 * for await (const r of getObjects(bucket, { concurrency: 16 })(bucket.list('raw/'))) {
 *   if (r.ok) console.log(r.key, r.value.length)
 * }
 * ```
 * @packageDocumentation
 */
export { Bucket, Listing, type BucketOptions, type FolderOptions, type KeyList, type LsOptions, type ParallelOptions } from './bucket.js'
export type { BucketRef, StorageClass } from './bucket-ref.js'
export type { PutSource, StreamSource } from './body.js'
export { createClient, isAwsEndpoint, resolveEndpoint, type ClientOptions } from './client.js'
export {
  AbortError,
  AccessDeniedError,
  BucketflowError,
  IntegrityError,
  InvalidArgumentError,
  InvalidRangeError,
  NoSuchBucketError,
  NoSuchKeyError,
  NotDirectoryBucketError,
  NotImplementedError,
  S3Error,
  toBucketflowError,
  type ErrorFields,
} from './errors.js'
export { compareKeys } from './keys.js'
export { contentTypeOf } from './mime.js'
export { safeDestination } from './paths.js'
export { boundedMap, collect, isOk, mapResults, partition, type Failed, type Ok, type Result, type StageOptions } from './results.js'
export { copyObject, copyObjects, type CopyItem, type CopyOptions, type CopyResult } from './stages/copy.js'
export { deleteObject, deleteObjects, type DeleteOptions } from './stages/delete.js'
export {
  getObject,
  getObjects,
  getToFile,
  resolveRange,
  streamObject,
  type ByteRange,
  type GetItem,
  type GetObjectsOptions,
  type GetOptions,
} from './stages/get.js'
export { headObject, headObjects, type ObjectInfo } from './stages/head.js'
export { listObjects, listPages, type ListOptions, type ListPage, type ObjectEntry, type PrefixEntry } from './stages/list.js'
export { putObject, putObjects, type PutItem, type PutOptions, type PutResult } from './stages/put.js'
export { freezeObject, freezeObjects, restoreObject, restoreObjects, type RestoreOptions } from './stages/storage-class.js'
export { abortUploads, listUploads, type AbortUploadsOptions, type UploadInfo } from './stages/uploads.js'
export { startLocalS3, type LocalS3, type LocalS3Options } from './server/server.js'
export { listPartitioned, type KeyRange, type ListCheckpoint, type ListProgress, type PartitionedListing, type PartitionedListOptions } from './stages/partition.js'
export { DEFAULT_LISTING_COLUMNS, LISTING_COLUMNS, listingSchema, toRecordBatches, type ListingColumn, type PageLike, type RecordBatchOptions } from './arrow/record-batches.js'
export { readParquet, writeParquet, type ParquetCompression, type ParquetDestination, type WriteParquetOptions, type WriteParquetResult } from './arrow/parquet.js'
export { indexBucket, type IndexOptions } from './arrow/index-table.js'
export {
  createWriteStream,
  DEFAULT_PART_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  MultipartSink,
  putStream,
  type UploadProgress,
  type WriteStreamOptions,
  type WriteStreamResult,
} from './sinks/multipart.js'
export { createLogStream, defaultLogName, LogSink, type LogObjectName, type LogStreamOptions, type LogStreamResult } from './sinks/rotating.js'
export { isTailMarker, lines, tail, Tail, type TailFrom, type TailMarker, type TailObject, type TailOptions, type TailReset } from './stages/tail.js'
export { appendInput, appendObject, isDirectoryBucket, type AppendOptions, type AppendResult } from './stages/append.js'
