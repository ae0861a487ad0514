/**
 * The S3 Control client (`@aws-sdk/client-s3-control`), loaded on first use only: `import
 * 'bucketflow'` never loads it, and only Batch Operations calls need it.
 *
 * @example
 * ```ts
 * import { createControlClient } from 'bucketflow'
 * const control = await createControlClient({ region: 'us-east-1' })
 * ```
 * @packageDocumentation
 */
import type { S3ControlClient, S3ControlClientConfig } from '@aws-sdk/client-s3-control'

type S3ControlModule = typeof import('@aws-sdk/client-s3-control')

let loading: Promise<S3ControlModule> | undefined

/** The `@aws-sdk/client-s3-control` module, imported once on first use. */
export function loadS3Control(): Promise<S3ControlModule> {
  loading ??= import('@aws-sdk/client-s3-control')
  return loading
}

/** Options for {@link createControlClient}: the S3ControlClient's own configuration. */
export type ControlClientOptions = S3ControlClientConfig

/**
 * A new S3ControlClient (region from the options, else `AWS_REGION`, else `us-east-1`;
 * credentials from the SDK's chain unless given). Batch Operations jobs are regional: create
 * the client in the Region of the job (for a copy, the destination bucket's).
 *
 * @example
 * ```ts
 * const control = await createControlClient({ region: 'eu-west-1', maxAttempts: 5 })
 * import type { CreateJobCommandInput } from '@aws-sdk/client-s3-control'
 * declare const plan: CreateJobCommandInput // from planBatchJob
 * const { jobId } = await submitBatchJob(control, plan)
 * ```
 */
export async function createControlClient(options: ControlClientOptions = {}): Promise<S3ControlClient> {
  const { S3ControlClient: Client } = await loadS3Control()
  return new Client({ region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1', ...options })
}
