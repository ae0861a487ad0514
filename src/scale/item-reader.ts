/**
 * `itemReaderFor`: the `ItemReader` of a Step Functions Distributed Map state that reads its
 * items from an object bucketflow wrote: a CSV (a Batch Operations manifest, header-less, so the
 * headers are given), JSON Lines (key ranges from {@link writeKeyRanges}), or an S3 Inventory
 * manifest.json (`InputType: MANIFEST`; Step Functions reads the CSV data files it lists).
 *
 * The output is the JSON to paste (or template) into the state machine definition; bucketflow
 * deploys nothing.
 *
 * @example
 * ```ts
 * import { itemReaderFor } from 'bucketflow'
 * const reader = itemReaderFor({ bucket: 'work', key: 'sfn/ranges.jsonl', format: 'jsonl' })
 * // { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSONL' },
 * //   Parameters: { Bucket: 'work', Key: 'sfn/ranges.jsonl' } }
 * ```
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js'
import { describeValue, validateBucketName, validateInteger, validateKey } from '../validate.js'
import { validatePartition } from './arn.js'

/** The item file formats {@link itemReaderFor} knows. */
export type ItemFormat = 'csv' | 'jsonl' | 'manifest'

/** Options for {@link itemReaderFor}. */
export interface ItemReaderOptions {
  /** Bucket name of the item file. */
  bucket: string
  /** Key of the item file (for `manifest`, the inventory's manifest.json). */
  key: string
  format: ItemFormat
  /** For `csv`: the column names. Default `['Bucket', 'Key']` (a Batch Operations manifest without versions). */
  csvHeaders?: readonly string[]
  /** The object version of the item file, for versioned buckets. */
  versionId?: string
  /** Read at most this many items. */
  maxItems?: number
  /** `JSONPath` (the default) puts bucket and key under `Parameters`, `JSONata` under `Arguments`. */
  queryLanguage?: 'JSONPath' | 'JSONata'
  /** ARN partition. Default 'aws'. */
  partition?: string
}

/** A Distributed Map `ItemReader`. */
export interface ItemReader {
  Resource: string
  ReaderConfig: {
    InputType: 'CSV' | 'JSONL' | 'MANIFEST'
    CSVHeaderLocation?: 'GIVEN'
    CSVHeaders?: string[]
    MaxItems?: number
  }
  Parameters?: { Bucket: string; Key: string; VersionId?: string }
  Arguments?: { Bucket: string; Key: string; VersionId?: string }
}

/**
 * The ItemReader JSON for an item file in S3. Validates names before anything is returned.
 *
 * @example
 * ```ts
 * const reader = itemReaderFor({ bucket: 'inventory', key: 'inv/photos/daily/2024-05-01T01-00Z/manifest.json', format: 'manifest' })
 * const state = { Type: 'Map', ItemReader: reader, ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } } }
 * ```
 */
export function itemReaderFor(options: ItemReaderOptions): ItemReader {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(`Expected options { bucket, key, format }, got ${describeValue(options)}`, { argument: 'options' })
  validateBucketName(options.bucket)
  validateKey(options.key, options.bucket)
  const partition = options.partition ?? 'aws'
  validatePartition(partition)
  const target: { Bucket: string; Key: string; VersionId?: string } = { Bucket: options.bucket, Key: options.key }
  if (options.versionId !== undefined) {
    if (typeof options.versionId !== 'string' || options.versionId === '')
      throw new InvalidArgumentError(`Expected versionId to be a non-empty string, got ${describeValue(options.versionId)}`, { argument: 'versionId' })
    target.VersionId = options.versionId
  }
  let config: ItemReader['ReaderConfig']
  switch (options.format) {
    case 'csv': {
      const headers = options.csvHeaders ?? ['Bucket', 'Key']
      if (
        !Array.isArray(headers) ||
        headers.length === 0 ||
        headers.some((h) => typeof h !== 'string' || h === '') ||
        new Set(headers).size !== headers.length
      ) {
        throw new InvalidArgumentError(`Expected csvHeaders to be distinct non-empty column names, got ${describeValue(headers)}`, { argument: 'csvHeaders' })
      }
      config = { InputType: 'CSV', CSVHeaderLocation: 'GIVEN', CSVHeaders: [...headers] }
      break
    }
    case 'jsonl':
      config = { InputType: 'JSONL' }
      break
    case 'manifest':
      config = { InputType: 'MANIFEST' }
      break
    default:
      throw new InvalidArgumentError(`Expected format to be 'csv', 'jsonl' or 'manifest', got ${describeValue(options.format)}`, { argument: 'format' })
  }
  if (options.maxItems !== undefined) {
    validateInteger(options.maxItems, 'maxItems', 1, 100_000_000)
    config.MaxItems = options.maxItems
  }
  const language = options.queryLanguage ?? 'JSONPath'
  if (language !== 'JSONPath' && language !== 'JSONata')
    throw new InvalidArgumentError(`Expected queryLanguage to be 'JSONPath' or 'JSONata', got ${describeValue(language)}`, { argument: 'queryLanguage' })
  const reader: ItemReader = { Resource: `arn:${partition}:states:::s3:getObject`, ReaderConfig: config }
  if (language === 'JSONata') reader.Arguments = target
  else reader.Parameters = target
  return reader
}
