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
export { Bucket, Listing, type BucketOptions, type FolderOptions, type GetManyOptions, type KeyList, type LsOptions, type ParallelOptions } from './bucket.js'
export type { BucketRef, StorageClass } from './bucket-ref.js'
export type { PutSource, StreamSource } from './body.js'
export { createHasher, multipartEtag, type ChecksumAlgorithm, type Hasher, type Verification } from './checksums.js'
export { createClient, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, isAwsEndpoint, resolveEndpoint, type ClientOptions } from './client.js'
export {
  AbortError,
  AccessDeniedError,
  BucketflowError,
  IntegrityError,
  InvalidArgumentError,
  InvalidObjectStateError,
  InvalidRangeError,
  isTransient,
  NoSuchBucketError,
  NoSuchKeyError,
  NotDirectoryBucketError,
  NotImplementedError,
  S3Error,
  SourceError,
  TimeoutError,
  toBucketflowError,
  type ErrorFields,
} from './errors.js'
export { compareKeys } from './keys.js'
export { contentTypeOf } from './mime.js'
export { safeDestination } from './paths.js'
export { boundedMap, collect, isOk, mapResults, partition, type Failed, type Ok, type Result, type ResultNote, type StageOptions } from './results.js'
export { copyObject, copyObjects, type CopyItem, type CopyOptions, type CopyResult } from './stages/copy.js'
export { deleteObject, deleteObjects, type DeleteOptions } from './stages/delete.js'
export {
  getObject,
  getObjects,
  getToFile,
  resolveRange,
  streamObject,
  validateGetOptions,
  type ByteRange,
  type DownloadInfo,
  type GetItem,
  type GetObjectsOptions,
  type GetOptions,
} from './stages/get/index.js'
export { headObject, headObjects, type ObjectInfo } from './stages/head.js'
export { listObjects, listPages, type ListOptions, type ListPage, type ObjectEntry, type PrefixEntry } from './stages/list.js'
export { putObject, putObjects, type PutItem, type PutOptions, type PutResult } from './stages/put.js'
export { freezeObject, freezeObjects, restoreObject, restoreObjects, type RestoreOptions } from './stages/storage-class.js'
export { abortUploads, listUploads, type AbortUploadsOptions, type UploadInfo } from './stages/uploads.js'
export {
  listPartitioned,
  type KeyRange,
  type ListCheckpoint,
  type ListProgress,
  type PartitionedListing,
  type PartitionedListOptions,
} from './stages/partition/index.js'
export { DEFAULT_LISTING_COLUMNS, LISTING_COLUMNS, type ListingColumn } from './arrow/columns.js'
export { indexBucket, readInventory, readParquet, toRecordBatches, writeParquet } from './arrow/lazy.js'
export type { PageLike, RecordBatchOptions } from './arrow/record-batches.js'
export type { ParquetCompression, ParquetDestination, WriteParquetOptions, WriteParquetResult } from './arrow/parquet.js'
export type { PartitionBy, PartitionFile } from './arrow/partitioned.js'
export type { IndexOptions } from './arrow/index-table.js'
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
} from './upload/multipart.js'
export {
  createLogStream,
  defaultLogName,
  LogSink,
  type DroppedCounts,
  type FsyncPolicy,
  type LogCompression,
  type LogObjectName,
  type LogStreamOptions,
  type LogStreamResult,
  type ParquetLogFormat,
  type StoredLogObject,
} from './sinks/rotating.js'
export { KEY_PLACEHOLDERS, parseKeyTemplate, renderKeyTemplate, type KeyTemplate } from './sinks/log-keys.js'
export { compressionOf, createCompressor, createDecompressor } from './compression.js'
export { SpoolLockedError } from './sinks/spool.js'
export {
  isTailMarker,
  lines,
  readObjectText,
  tail,
  Tail,
  type LinesOptions,
  type TailFrom,
  type TailMarker,
  type TailObject,
  type TailOptions,
  type TailReset,
} from './stages/tail/index.js'
export { walkFiles, type LocalFile, type LocalFileProblem, type WalkOptions } from './local-files.js'
export { appendInput, appendObject, isDirectoryBucket, type AppendOptions, type AppendResult } from './stages/append.js'
export { UnsupportedFormatError } from './scale/errors.js'
export { decodeInventoryKey, encodeManifestKey } from './scale/key-codec.js'
export { findInventories, type FindInventoriesOptions, type InventoryReport } from './scale/find-inventories.js'
export { readInventoryManifest, type InventoryFile, type InventoryManifest, type ReadInventoryManifestOptions } from './scale/inventory-manifest.js'
export type { InventoryProgress, ReadInventoryOptions } from './scale/read-inventory.js'
export { inventorySplits, type InventorySplitsOptions } from './scale/inventory-splits.js'
export { splitKeySpace, type SplitKeySpaceOptions } from './scale/split-key-space.js'
export { validateKeyRanges, writeKeyRanges, type KeyRangeItem, type WriteKeyRangesOptions, type WrittenKeyRanges } from './scale/key-ranges.js'
export { itemReaderFor, type ItemFormat, type ItemReader, type ItemReaderOptions } from './scale/item-reader.js'
export { createControlClient, type ControlClientOptions } from './scale/control-client.js'
export { writeBatchManifest, type BatchManifestRow, type WriteBatchManifestOptions, type WrittenBatchManifest } from './scale/batch-manifest.js'
export {
  BATCH_STORAGE_CLASSES,
  checkCreateJobInput,
  planBatchJob,
  type BatchGeneratorFilter,
  type BatchJobPlanOptions,
  type BatchManifestSource,
  type BatchOperation,
  type BatchStorageClass,
} from './scale/plan-batch-job.js'
export { submitBatchJob, type SubmitBatchJobOptions } from './scale/submit-batch-job.js'
export { TERMINAL_JOB_STATES, watchBatchJob, type BatchJobStatus, type WatchBatchJobOptions } from './scale/watch-batch-job.js'
export { readCompletionReport, type CompletionTask, type ReadCompletionReportOptions } from './scale/completion-report.js'
