/** Test helpers: a Bucket per test file on the run's local S3 server. */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, inject } from 'vitest'
import { Bucket, type BucketOptions } from '../../src/index.js'

/** Client options for the run's S3 server. */
export function s3Options(extra: BucketOptions = {}): BucketOptions {
  const s3 = inject('s3')
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ...extra,
  }
}

/** A fresh, unique bucket name with the given prefix. */
export function bucketName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`.toLowerCase()
}

/**
 * Create a bucket for this test file before its tests and delete it (with everything in it)
 * after. Returns a getter: call it inside tests.
 */
export function useBucket(prefix = 'test', extra: BucketOptions = {}): () => Bucket {
  let bucket: Bucket | undefined
  beforeAll(async () => {
    bucket = await Bucket.create(bucketName(prefix), s3Options(extra))
  })
  afterAll(async () => {
    await bucket?.delete({ force: true })
  })
  return () => {
    if (!bucket) throw new Error('bucket not created yet')
    return bucket
  }
}
