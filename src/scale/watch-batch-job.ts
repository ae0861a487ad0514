/**
 * `watchBatchJob`: follow an S3 Batch Operations job (`DescribeJob` every `intervalMs`) as an
 * async iterable of its status and progress counts, ending after a terminal state (Complete,
 * Failed, Cancelled).
 *
 * @example
 * ```ts
 * import { createControlClient, watchBatchJob } from 'bucketflow'
 * const control = await createControlClient()
 * const [accountId, jobId] = ['123456789012', '2f3a8c1e-0b6d-4f5e-9a7c-1d2e3f4a5b6c']
 * for await (const s of watchBatchJob(control, { accountId, jobId, intervalMs: 30_000 })) {
 *   console.log(`${s.status}: ${s.succeeded + s.failed}/${s.total}`)
 * }
 * ```
 * @packageDocumentation
 */
import { delay } from '../util/abort.js'
import type { S3ControlClient } from '@aws-sdk/client-s3-control'
import { AbortError, InvalidArgumentError, toBucketflowError } from '../errors.js'
import { describeValue, validateInteger } from '../validate.js'
import { validateAccountId } from './arn.js'
import { loadS3Control } from './control-client.js'
import { validateControlClient } from './submit-batch-job.js'

/**
 * Job states that do not change any more.
 *
 * @example
 * ```ts
 * TERMINAL_JOB_STATES.includes('Complete') // true
 * ```
 */
export const TERMINAL_JOB_STATES = ['Complete', 'Failed', 'Cancelled'] as const

/** One look at a job. */
export interface BatchJobStatus {
  jobId: string
  /** New, Preparing, Suspended, Ready, Active, Pausing, Paused, Complete, Cancelling, Cancelled, Failing or Failed. */
  status: string
  /** Tasks in the job (0 until the manifest is read). */
  total: number
  succeeded: number
  failed: number
  /** Seconds the job has been active. */
  elapsedSeconds: number
  /** Why the job failed (or cannot run), when S3 says. */
  failureReasons: { code: string; reason: string }[]
  /** True on Complete, Failed or Cancelled: the last status the iterable yields. */
  terminal: boolean
  /** Where the completion report goes, when there is one (`arn:aws:s3:::bucket`, prefix). */
  report?: { bucket: string; prefix?: string }
}

/** Options for {@link watchBatchJob}. */
export interface WatchBatchJobOptions {
  accountId: string
  jobId: string
  /** Time between two DescribeJob calls. Default 10,000 ms. */
  intervalMs?: number
  /** Stop watching: the iterable throws AbortError (the job itself goes on). */
  signal?: AbortSignal
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return delay(ms, signal, () => new AbortError('Watching the job was aborted', { cause: signal?.reason }))
}

/**
 * Poll a job until it reaches a terminal state, yielding each status. Aborting `signal` stops the
 * watch (AbortError) without touching the job.
 *
 * @example
 * ```ts
 * import type { S3ControlClient } from '@aws-sdk/client-s3-control'
 * import type { BatchJobStatus } from 'bucketflow'
 * declare const control: S3ControlClient, accountId: string, jobId: string
 * let last: BatchJobStatus | undefined
 * for await (const s of watchBatchJob(control, { accountId, jobId })) last = s
 * if (last?.status !== 'Complete' || last.failed > 0) console.log('see the completion report')
 * ```
 */
export async function* watchBatchJob(client: S3ControlClient, options: WatchBatchJobOptions): AsyncGenerator<BatchJobStatus, void, undefined> {
  validateControlClient(client)
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(`Expected options { accountId, jobId }, got ${describeValue(options)}`, { argument: 'options' })
  validateAccountId(options.accountId)
  if (typeof options.jobId !== 'string' || !/^[a-zA-Z0-9\-_]{5,36}$/.test(options.jobId)) {
    throw new InvalidArgumentError(`Expected jobId to be a Batch Operations job ID, got ${describeValue(options.jobId)}`, { argument: 'jobId' })
  }
  const intervalMs = options.intervalMs ?? 10_000
  validateInteger(intervalMs, 'intervalMs', 0)
  const signal = options.signal
  const { DescribeJobCommand } = await loadS3Control()
  for (;;) {
    if (signal?.aborted) throw new AbortError('Watching the job was aborted', { cause: signal.reason })
    let job
    try {
      job = (await client.send(new DescribeJobCommand({ AccountId: options.accountId, JobId: options.jobId }), signal ? { abortSignal: signal } : {})).Job
    } catch (err) {
      if (signal?.aborted) throw new AbortError('Watching the job was aborted', { cause: signal.reason })
      throw toBucketflowError(err, { operation: 'DescribeJob' })
    }
    const p = job?.ProgressSummary
    const status = job?.Status ?? 'Unknown'
    const out: BatchJobStatus = {
      jobId: job?.JobId ?? options.jobId,
      status,
      total: p?.TotalNumberOfTasks ?? 0,
      succeeded: p?.NumberOfTasksSucceeded ?? 0,
      failed: p?.NumberOfTasksFailed ?? 0,
      elapsedSeconds: p?.Timers?.ElapsedTimeInActiveSeconds ?? 0,
      failureReasons: (job?.FailureReasons ?? []).map((f) => ({ code: f.FailureCode ?? '', reason: f.FailureReason ?? '' })),
      terminal: (TERMINAL_JOB_STATES as readonly string[]).includes(status),
    }
    if (job?.Report?.Enabled && job.Report.Bucket) {
      out.report = { bucket: job.Report.Bucket.replace(/^arn:[^:]+:s3:::/, ''), ...(job.Report.Prefix ? { prefix: job.Report.Prefix } : {}) }
    }
    yield out
    if (out.terminal) return
    await sleep(intervalMs, signal)
  }
}
