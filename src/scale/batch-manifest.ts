/**
 * `writeBatchManifest`: an S3 Batch Operations CSV manifest (`S3BatchOperations_CSV_20180820`):
 * one `bucket,key[,versionId]` line per object, no header (a header line would be read as an
 * object), keys URL-encoded ({@link encodeManifestKey}: space `%20`, `+` `%2B`, `/` kept), and
 * either every row with a version ID or none. Rows stream into a multipart upload; bad input
 * aborts it, so a half-written manifest is never left to start a job from.
 *
 * @example
 * ```ts
 * import { planBatchJob, writeBatchManifest } from 'bucketflow'
 * const rows = (async function* () {
 *   for await (const key of bucket.list('raw/2019/')) yield { bucket: bucket.name, key }
 * })()
 * const jobsBucket = new Bucket('batch-jobs')
 * const manifest = await writeBatchManifest(jobsBucket, 'jobs/freeze-2019.csv', rows)
 * ```
 * @packageDocumentation
 */
import type { BucketRef } from '../bucket-ref.js'
import { InvalidArgumentError } from '../errors.js'
import { createWriteStream } from '../upload/multipart.js'
import { describeValue, validateBucketName, validateKey } from '../validate.js'
import { objectArn, validatePartition } from './arn.js'
import { encodeManifestKey } from './key-codec.js'

/** One object of a Batch Operations manifest. */
export interface BatchManifestRow {
  bucket: string
  key: string
  /**
   * The version to act on; every row has one, or none has. `null` is the "null" version (an
   * object written before versioning was enabled; an all-versions inventory leaves its VersionId
   * empty, which a job would refuse).
   */
  versionId?: string | null
}

/** Options for {@link writeBatchManifest}. */
export interface WriteBatchManifestOptions {
  /** ARN partition of `objectArn`. Default 'aws'. */
  partition?: string
  signal?: AbortSignal
}

/** What {@link writeBatchManifest} wrote: what a job needs to reference it. */
export interface WrittenBatchManifest {
  key: string
  /** `arn:aws:s3:::bucket/key` of the manifest. */
  objectArn: string
  /** The manifest object's ETag (without quotes), which CreateJob requires. */
  etag: string
  /** Rows written. */
  rows: number
  /** The manifest's columns, for `Manifest.Spec.Fields`. */
  fields: ('Bucket' | 'Key' | 'VersionId')[]
  /** The distinct buckets of the rows (a copy or freeze job acts on one source bucket). */
  buckets: string[]
}

const UNSAFE_VERSION = /[,"\r\n]/

function toAsync<T>(rows: AsyncIterable<T> | Iterable<T>): AsyncIterable<T> {
  if (rows !== null && typeof rows === 'object' && Symbol.asyncIterator in rows) return rows as AsyncIterable<T>
  if (rows !== null && typeof rows === 'object' && Symbol.iterator in rows) {
    return (async function* () {
      yield* rows as Iterable<T>
    })()
  }
  throw new InvalidArgumentError(`Expected rows to be an (async) iterable of { bucket, key, versionId? }, got ${describeValue(rows)}`, { argument: 'rows' })
}

/**
 * Write `rows` as a Batch Operations CSV manifest at `key` of `bucket` (a general purpose bucket).
 * Resolves to `{ objectArn, etag, rows, fields, buckets }`, ready for {@link planBatchJob}. An
 * invalid row (bad bucket name or key, a comma or quote in a version ID, versions on some rows
 * only) or zero rows fails with InvalidArgumentError and stores nothing. Memory: the multipart
 * sink's bound (8 MiB parts, 4 in flight).
 *
 * @example
 * ```ts
 * const jobs = new Bucket('batch-jobs')
 * const written = await writeBatchManifest(jobs, 'manifests/tag.csv', [
 *   { bucket: 'photos', key: '2019/a b.jpg' },
 *   { bucket: 'photos', key: '2019/c+d.jpg' },
 * ])
 * // photos,2019/a%20b.jpg
 * // photos,2019/c%2Bd.jpg
 * ```
 */
export async function writeBatchManifest(
  ref: BucketRef,
  key: string,
  rows: AsyncIterable<BatchManifestRow> | Iterable<BatchManifestRow>,
  options: WriteBatchManifestOptions = {},
): Promise<WrittenBatchManifest> {
  validateKey(key, ref.name)
  const partition = options.partition ?? 'aws'
  validatePartition(partition)
  const source = toAsync(rows)
  const sink = createWriteStream(ref, key, { contentType: 'text/csv', ...(options.signal ? { signal: options.signal } : {}) })
  // Failures surface through `sink.done` (and the drain wait below), not as unhandled events.
  sink.on('error', () => undefined)
  let count = 0
  let versioned: boolean | undefined
  const buckets = new Set<string>()
  const bad = (why: string) => new InvalidArgumentError(`Manifest row ${count}: ${why}`, { argument: 'rows' })
  try {
    let lines: string[] = []
    const flush = async (): Promise<void> => {
      if (lines.length === 0) return
      const ok = sink.write(`${lines.join('\n')}\n`)
      lines = []
      if (!ok)
        await new Promise<void>((resolve, reject) => {
          const done = (err?: unknown) => {
            sink.off('drain', done)
            sink.off('error', done)
            if (err) reject(err)
            else resolve()
          }
          sink.once('drain', done)
          sink.once('error', done)
        })
    }
    for await (const row of source) {
      if (row === null || typeof row !== 'object') throw bad(`expected { bucket, key, versionId? }, got ${describeValue(row)}`)
      try {
        validateBucketName(row.bucket)
        validateKey(row.key, row.bucket)
      } catch (err) {
        throw bad((err as Error).message)
      }
      const hasVersion = row.versionId !== undefined
      const version = row.versionId === null ? 'null' : row.versionId
      if (hasVersion && (typeof version !== 'string' || version === '' || UNSAFE_VERSION.test(version))) {
        throw bad(`expected versionId to be a non-empty string without commas, quotes or line breaks, or null, got ${describeValue(row.versionId)}`)
      }
      versioned ??= hasVersion
      if (versioned !== hasVersion) throw bad(`${hasVersion ? 'has' : 'has no'} versionId, unlike the rows before it: every row has one, or none has`)
      buckets.add(row.bucket)
      lines.push(hasVersion ? `${row.bucket},${encodeManifestKey(row.key)},${version}` : `${row.bucket},${encodeManifestKey(row.key)}`)
      count++
      if (lines.length >= 1000) await flush()
    }
    await flush()
    if (count === 0) throw new InvalidArgumentError('Expected at least one manifest row: a job with an empty manifest fails', { argument: 'rows' })
    sink.end()
    const out = await sink.done
    return {
      key,
      objectArn: objectArn(ref.name, key, partition),
      etag: out.etag.replaceAll('"', ''),
      rows: count,
      fields: versioned ? ['Bucket', 'Key', 'VersionId'] : ['Bucket', 'Key'],
      buckets: [...buckets],
    }
  } catch (err) {
    sink.destroy(err instanceof Error ? err : new Error(String(err)))
    await sink.done.catch(() => undefined)
    throw err
  }
}
