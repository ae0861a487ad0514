/**
 * Errors of the scale module (S3 Inventory, Batch Operations, Step Functions).
 *
 * @example
 * ```ts
 * import { readInventory, UnsupportedFormatError } from 'bucketflow'
 * const manifestKey = 'inv/photos/daily/2024-05-01T01-00Z/manifest.json'
 * try {
 *   for await (const batch of readInventory(bucket, manifestKey)) console.log(batch.numRows)
 * } catch (err) {
 *   if (err instanceof UnsupportedFormatError) console.log(`configure the inventory as CSV or Parquet, not ${err.format}`)
 *   else throw err
 * }
 * ```
 * @packageDocumentation
 */
import { BucketflowError, type ErrorFields } from '../errors.js'

/**
 * A file format bucketflow does not read, e.g. an ORC inventory (configure CSV or Parquet), or a
 * manifest or report whose format field names an unknown version.
 *
 * @example
 * ```ts
 * const err = new UnsupportedFormatError('ORC inventories are not read', { format: 'ORC' })
 * err.code // 'UnsupportedFormat'
 * ```
 */
export class UnsupportedFormatError extends BucketflowError {
  /** The format that was found. */
  readonly format: string
  constructor(message: string, fields: ErrorFields & { format: string }) {
    super(message, fields, 'UnsupportedFormat')
    this.format = fields.format
  }
}
