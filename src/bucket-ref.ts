/** The little a stage needs to know about a bucket: its client, name and default concurrency. */
import type { S3Client } from '@aws-sdk/client-s3'

/** A bucket as stages see it. `Bucket` satisfies it; so does `{ client, name }`. */
export interface BucketRef {
  readonly client: S3Client
  readonly name: string
  /** Default concurrency for parallel operations. */
  readonly concurrency?: number
}

/** Storage classes S3 knows. Servers may accept a subset. */
export type StorageClass =
  | 'STANDARD'
  | 'REDUCED_REDUNDANCY'
  | 'STANDARD_IA'
  | 'ONEZONE_IA'
  | 'INTELLIGENT_TIERING'
  | 'GLACIER'
  | 'GLACIER_IR'
  | 'DEEP_ARCHIVE'
  | 'OUTPOSTS'
  | 'SNOW'
  | 'EXPRESS_ONEZONE'
