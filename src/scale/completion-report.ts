/**
 * `readCompletionReport`: the per-task results of an S3 Batch Operations job, from its completion
 * report: the top-level `manifest.json` (`Format: Report_CSV_20180820`, `Results[]` of result
 * files with their MD5, `ReportSchema`) and the header-less CSV result files it lists, each
 * checked against its MD5 before a row of it is yielded.
 *
 * Reports land at `<prefix>/job-<jobId>/manifest.json` of the report bucket.
 *
 * Two things the documentation leaves open, handled defensively: `ReportSchema` names ErrorCode
 * before HTTPStatusCode while documented and real rows carry the HTTP status first (`failed,400,,
 * Failure`), so the two are told apart by shape (a status is three digits); and keys are decoded
 * as the manifest encoded them (`decodeKeys`, default true: `+` a space, then percent-decoding).
 *
 * @example
 * ```ts
 * import { readCompletionReport } from 'bucketflow'
 * const reports = new Bucket('job-reports')
 * const jobId = '2f3a8c1e-0b6d-4f5e-9a7c-1d2e3f4a5b6c'
 * for await (const task of readCompletionReport(reports, `freeze/job-${jobId}/manifest.json`)) {
 *   if (task.status === 'failed') console.log(task.key, task.httpStatusCode, task.errorCode, task.resultMessage)
 * }
 * ```
 * @packageDocumentation
 */
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { createReadStream } from 'node:fs'
import type { BucketRef } from '../bucket-ref.js'
import { BucketflowError, IntegrityError, InvalidArgumentError } from '../errors.js'
import { describeValue, validateKey } from '../validate.js'
import { CsvParser, CsvSyntaxError } from './csv.js'
import { UnsupportedFormatError } from './errors.js'
import { DEFAULT_SPOOL_BYTES, fetchVerified, getBytes, release } from './fetch-verified.js'
import { decodeInventoryKey } from './key-codec.js'

/** One task of a job, from its completion report. */
export interface CompletionTask {
  bucket: string
  key: string
  versionId?: string
  /** `succeeded` or `failed`. */
  status: string
  /** The HTTP status of the task's request (e.g. 200, 403), when given. */
  httpStatusCode?: number
  /** S3's (or the Lambda function's) error code, e.g. `AccessDenied`, `PermanentFailure`. */
  errorCode?: string
  /** `Successful`, an error message, or the Lambda function's result string. */
  resultMessage?: string
  /** `succeeded` or `failed`: which result file this row came from. */
  file: string
}

/** Options for {@link readCompletionReport}. */
export interface ReadCompletionReportOptions {
  /** Check each result file's MD5 against the report manifest. Default true. */
  verifyMd5?: boolean
  /** URL-decode keys (as the CSV manifest encoded them). Default true. */
  decodeKeys?: boolean
  signal?: AbortSignal
}

interface ReportManifest {
  Format: string
  ReportSchema: string
  Results: { TaskExecutionStatus: string; Bucket: string; MD5Checksum: string; Key: string }[]
}

function parseManifest(text: string, bucket: string, key: string): ReportManifest {
  const bad = (why: string) =>
    new InvalidArgumentError(`s3://${bucket}/${key} is not a Batch Operations completion report manifest.json: ${why}`, {
      argument: 'reportManifestKey',
      bucket,
      key,
    })
  let m: Record<string, unknown>
  try {
    m = JSON.parse(text) as Record<string, unknown>
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`)
  }
  if (m === null || typeof m !== 'object') throw bad('not a JSON object')
  if (typeof m.Format !== 'string') throw bad('no Format')
  if (!m.Format.startsWith('Report_CSV_'))
    throw new UnsupportedFormatError(`s3://${bucket}/${key}: report format ${describeValue(m.Format)} is not read (expected Report_CSV_20180820)`, {
      format: m.Format,
      bucket,
      key,
    })
  if (!Array.isArray(m.Results)) throw bad('no Results array')
  for (const [i, r] of (m.Results as Record<string, unknown>[]).entries()) {
    if (
      r === null ||
      typeof r !== 'object' ||
      typeof r.Bucket !== 'string' ||
      typeof r.Key !== 'string' ||
      typeof r.MD5Checksum !== 'string' ||
      typeof r.TaskExecutionStatus !== 'string'
    ) {
      throw bad(`Results[${i}] is not { TaskExecutionStatus, Bucket, MD5Checksum, Key }`)
    }
  }
  return {
    Format: m.Format,
    ReportSchema: typeof m.ReportSchema === 'string' ? m.ReportSchema : 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
    Results: m.Results as ReportManifest['Results'],
  }
}

const STATUS = /^\d{3}$/

/**
 * Every task of a job's completion report (the report's `manifest.json` at `reportManifestKey`),
 * failed and succeeded, file by file. Memory: one result file (in memory up to 64 MiB, larger
 * ones in a temporary file) and one parsed chunk.
 *
 * @example
 * ```ts
 * const reports = new Bucket('job-reports')
 * const manifestKey = 'freeze/job-2f3a8c1e/manifest.json'
 * const failed: string[] = []
 * for await (const t of readCompletionReport(reports, manifestKey)) if (t.status !== 'succeeded') failed.push(t.key)
 * ```
 */
export async function* readCompletionReport(
  ref: BucketRef,
  reportManifestKey: string,
  options: ReadCompletionReportOptions = {},
): AsyncGenerator<CompletionTask, void, undefined> {
  validateKey(reportManifestKey, ref.name, 'reportManifestKey')
  const verifyMd5 = options.verifyMd5 ?? true
  const decodeKeys = options.decodeKeys ?? true
  const signal = options.signal
  const { bytes } = await getBytes(ref, reportManifestKey, signal)
  const manifest = parseManifest(bytes.toString('utf8'), ref.name, reportManifestKey)
  const schema = manifest.ReportSchema.split(',').map((s) => s.trim())
  const col = (name: string) => schema.indexOf(name)
  const [iBucket, iKey, iVersion, iStatus, iError, iHttp, iMessage] = [
    'Bucket',
    'Key',
    'VersionId',
    'TaskStatus',
    'ErrorCode',
    'HTTPStatusCode',
    'ResultMessage',
  ].map(col)
  if (iBucket! < 0 || iKey! < 0 || iStatus! < 0)
    throw new InvalidArgumentError(
      `s3://${ref.name}/${reportManifestKey}: ReportSchema ${describeValue(manifest.ReportSchema)} lacks Bucket, Key or TaskStatus`,
      { argument: 'reportManifestKey' },
    )
  for (const result of manifest.Results) {
    const bucketName = result.Bucket.replace(/^arn:[^:]+:s3:::/, '')
    const where: BucketRef = bucketName === ref.name ? ref : { client: ref.client, name: bucketName }
    const file = await fetchVerified(where, result.Key, verifyMd5 ? { md5: result.MD5Checksum } : {}, {
      spoolBytes: DEFAULT_SPOOL_BYTES,
      ...(signal ? { signal } : {}),
    })
    const bad = (message: string, cause?: unknown) =>
      new IntegrityError(`s3://${bucketName}/${result.Key}: ${message}`, { bucket: bucketName, key: result.Key, ...(cause === undefined ? {} : { cause }) })
    try {
      const raw = file.kind === 'memory' ? Readable.from([file.bytes], { objectMode: false }) : createReadStream(file.path)
      const gzip = file.kind === 'memory' && file.bytes[0] === 0x1f && file.bytes[1] === 0x8b
      const text = (gzip ? raw.pipe(createGunzip()) : raw).setEncoding('utf8')
      const parser = new CsvParser()
      const toTask = (row: string[]): CompletionTask => {
        if (row.length < 4) throw bad(`record ${parser.records}: ${row.length} values, expected the ${schema.length} of ReportSchema`)
        const get = (i: number | undefined) => (i !== undefined && i >= 0 ? row[i] : undefined)
        const rawKey = get(iKey)!
        let key = rawKey
        if (decodeKeys) {
          try {
            key = decodeInventoryKey(rawKey)
          } catch (err) {
            throw bad(`undecodable key ${describeValue(rawKey)}`, err)
          }
        }
        let http = get(iHttp)
        let error = get(iError)
        // Tell the status from the error code by shape (the documented schema and rows disagree).
        if (http !== undefined && !STATUS.test(http) && error !== undefined && STATUS.test(error)) [http, error] = [error, http]
        const task: CompletionTask = { bucket: get(iBucket)!, key, status: get(iStatus)!, file: result.TaskExecutionStatus }
        const version = get(iVersion)
        if (version) task.versionId = version
        if (http && STATUS.test(http)) task.httpStatusCode = Number(http)
        if (error) task.errorCode = error
        const message = get(iMessage)
        if (message) task.resultMessage = message
        return task
      }
      try {
        for await (const chunk of text as AsyncIterable<string>) for (const row of parser.push(chunk)) yield toTask(row)
        for (const row of parser.end()) yield toTask(row)
      } catch (err) {
        if (err instanceof CsvSyntaxError) throw bad(err.message, err)
        if (err instanceof BucketflowError) throw err
        throw bad(`cannot read: ${(err as Error).message}`, err)
      } finally {
        text.destroy()
        raw.destroy()
      }
    } finally {
      await release(file)
    }
  }
}
