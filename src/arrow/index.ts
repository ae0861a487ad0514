/**
 * `bucketflow/arrow`: the synchronous functions that return apache-arrow values. Importing this
 * entry loads apache-arrow (the ESM build, the same copy the main entry's lazy functions load);
 * the main entry `bucketflow` does not, and loads it only when a listing-to-Arrow or Parquet
 * function is first called.
 *
 * @example
 * ```ts
 * import { listingSchema, schemaFromJson } from 'bucketflow/arrow'
 * const schema = listingSchema(['Key', 'Size'])
 * const logs = schemaFromJson({ ts: 'timestamp[ms, UTC]', level: 'utf8' })
 * ```
 * @packageDocumentation
 */
export { listingSchema } from './record-batches.js'
export { inferSchema, schemaFromJson, schemaToJson } from '../sinks/ndjson.js'
