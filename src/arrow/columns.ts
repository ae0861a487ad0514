/**
 * The columns of a listing table and their validation: plain values, so the main entry can
 * export them without loading apache-arrow.
 *
 * @example
 * ```ts
 * import { LISTING_COLUMNS } from 'bucketflow'
 * console.log(LISTING_COLUMNS.join(', '))
 * ```
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js'
import { describeValue } from '../validate.js'

/** A column of a listing table. */
export type ListingColumn = 'Key' | 'LastModified' | 'ETag' | 'Size' | 'StorageClass' | 'Owner' | 'ChecksumAlgorithm'

/**
 * Every column, in the canonical order.
 *
 * @example
 * ```ts
 * const full = await bucket.index({ columns: LISTING_COLUMNS }) // with Owner and ChecksumAlgorithm
 * console.log(full.schema.fields.map((f) => f.name))
 * ```
 */
export const LISTING_COLUMNS: readonly ListingColumn[] = ['Key', 'LastModified', 'ETag', 'Size', 'StorageClass', 'Owner', 'ChecksumAlgorithm']

/**
 * The columns of hostess's df, used when `columns` is not given.
 *
 * @example
 * ```ts
 * const withChecksums = await bucket.index({ columns: [...DEFAULT_LISTING_COLUMNS, 'ChecksumAlgorithm'] })
 * ```
 */
export const DEFAULT_LISTING_COLUMNS: readonly ListingColumn[] = ['Key', 'LastModified', 'ETag', 'Size', 'StorageClass']

/** Throws InvalidArgumentError unless `columns` is a non-empty list of distinct listing columns. */
export function validateColumns(columns: unknown): asserts columns is readonly ListingColumn[] {
  const bad = (why: string) =>
    new InvalidArgumentError(`Expected columns to be a non-empty array of ${LISTING_COLUMNS.join(', ')}: ${why}`, { argument: 'columns' })
  if (!Array.isArray(columns)) throw bad(`got ${describeValue(columns)}`)
  if (columns.length === 0) throw bad('got an empty array')
  const seen = new Set<unknown>()
  for (const c of columns) {
    if (!LISTING_COLUMNS.includes(c as ListingColumn)) throw bad(`got ${describeValue(c)}`)
    if (seen.has(c)) throw bad(`${describeValue(c)} appears twice`)
    seen.add(c)
  }
}
