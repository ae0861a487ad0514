/**
 * `submitBatchJob`: send a planned S3 Batch Operations job (`CreateJob`). Every job costs money
 * (a fee per job plus one per object): this is the one call that spends it.
 *
 * @example
 * ```ts
 * import { createControlClient, planBatchJob, submitBatchJob } from 'bucketflow'
 * const control = await createControlClient({ region: 'us-east-1' })
 * const plan = planBatchJob({
 *   accountId: '123456789012',
 *   roleArn: 'arn:aws:iam::123456789012:role/batch-operations',
 *   operation: { kind: 'freeze', storageClass: 'GLACIER' },
 *   manifest: { generator: { sourceBucket: 'archive', filter: { prefixes: ['2019/'] } } },
 *   report: { bucket: 'job-reports', scope: 'FailedTasksOnly' },
 * })
 * const { jobId } = await submitBatchJob(control, plan)
 * ```
 * @packageDocumentation
 */
import type { CreateJobCommandInput, S3ControlClient } from '@aws-sdk/client-s3-control'
import { InvalidArgumentError, toBucketflowError } from '../errors.js'
import { describeValue } from '../validate.js'
import { loadS3Control } from './control-client.js'
import { checkCreateJobInput } from './plan-batch-job.js'

/** Options for {@link submitBatchJob}. */
export interface SubmitBatchJobOptions {
  signal?: AbortSignal
}

/** Throws InvalidArgumentError unless `client` looks like an S3ControlClient. */
export function validateControlClient(client: unknown): asserts client is S3ControlClient {
  if (client === null || typeof client !== 'object' || typeof (client as { send?: unknown }).send !== 'function') {
    throw new InvalidArgumentError(`Expected client to be an S3ControlClient (createControlClient()), got ${describeValue(client)}`, { argument: 'client' })
  }
}

/**
 * Create the job (`POST /v20180820/jobs`). The request is checked first (exactly one operation,
 * a manifest ETag, a token of at most 64 characters, ...; InvalidArgumentError, nothing sent).
 * The same `ClientRequestToken` sent twice creates one job, so a retry after a lost answer is safe.
 * Resolves to `{ jobId }`; S3 Control errors become typed errors (e.g. AccessDeniedError).
 *
 * @example
 * ```ts
 * const control = await createControlClient({ region: 'us-east-1' })
 * const plan = planBatchJob({
 *   accountId: '123456789012',
 *   roleArn: 'arn:aws:iam::123456789012:role/batch-operations',
 *   operation: { kind: 'restore', days: 7, tier: 'BULK' },
 *   manifest: { generator: { sourceBucket: 'archive', filter: { prefixes: ['2019/'] } } },
 *   report: { bucket: 'job-reports', scope: 'FailedTasksOnly' },
 * })
 * const { jobId } = await submitBatchJob(control, plan)
 * for await (const s of watchBatchJob(control, { accountId: plan.AccountId!, jobId })) console.log(s.status)
 * ```
 */
export async function submitBatchJob(client: S3ControlClient, input: CreateJobCommandInput, options: SubmitBatchJobOptions = {}): Promise<{ jobId: string }> {
  validateControlClient(client)
  checkCreateJobInput(input)
  const { CreateJobCommand } = await loadS3Control()
  let out
  try {
    out = await client.send(new CreateJobCommand(input), options.signal ? { abortSignal: options.signal } : {})
  } catch (err) {
    throw toBucketflowError(err, { operation: 'CreateJob' })
  }
  if (typeof out.JobId !== 'string' || out.JobId === '') throw toBucketflowError(new Error('CreateJob answered without a JobId'), { operation: 'CreateJob' })
  return { jobId: out.JobId }
}
