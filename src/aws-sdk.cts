/**
 * The AWS SDK values bucketflow uses, loaded with `require`. The SDK's packages are CommonJS;
 * imported from an ES module, Node would also scan each package's source for its module syntax and
 * its export names — about 100 ms of CPU at every process start (Node 20), paid again by every
 * `bucketflow` command. Types are imported from the packages themselves.
 *
 * @packageDocumentation
 */
export {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  RestoreObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
export { Sha256 } from '@smithy/core/checksum'
export { escapeUri, HttpResponse } from '@smithy/core/protocols'
export { getRetryAfterHint, isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry'
export { SignatureV4 } from '@smithy/signature-v4'
