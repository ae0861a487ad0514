/** ARNs of S3 buckets and objects, and their validation. Internal to the scale module. */
import { InvalidArgumentError } from '../errors.js'
import { describeValue } from '../validate.js'

/** AWS partitions: `aws`, `aws-cn`, `aws-us-gov`, ... */
const PARTITION = /^aws(-[a-z]+)*$/
const BUCKET = '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]'

export function validatePartition(partition: unknown): asserts partition is string {
  if (typeof partition !== 'string' || !PARTITION.test(partition)) {
    throw new InvalidArgumentError(`Expected partition to be an AWS partition like "aws" or "aws-cn", got ${describeValue(partition)}`, {
      argument: 'partition',
    })
  }
}

export function bucketArn(bucket: string, partition = 'aws'): string {
  return `arn:${partition}:s3:::${bucket}`
}

export function objectArn(bucket: string, key: string, partition = 'aws'): string {
  return `arn:${partition}:s3:::${bucket}/${key}`
}

/** Throws InvalidArgumentError (naming `argument`) unless `arn` is an S3 object ARN. */
export function validateObjectArn(arn: unknown, argument: string): asserts arn is string {
  if (typeof arn !== 'string' || !new RegExp(`^arn:aws(-[a-z]+)*:s3:::${BUCKET}/.+$`, 's').test(arn)) {
    throw new InvalidArgumentError(`Expected ${argument} to be an S3 object ARN like arn:aws:s3:::bucket/key, got ${describeValue(arn)}`, { argument })
  }
}

/** The bucket name of an S3 object or bucket ARN. */
export function bucketOfArn(arn: string): string {
  return arn.replace(/^arn:[^:]+:s3:::/, '').split('/')[0]!
}

/** Throws InvalidArgumentError unless `arn` is an IAM role ARN. */
export function validateRoleArn(arn: unknown, argument = 'roleArn'): asserts arn is string {
  if (typeof arn !== 'string' || !/^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@\-/]{1,512}$/.test(arn)) {
    throw new InvalidArgumentError(`Expected ${argument} to be an IAM role ARN like arn:aws:iam::123456789012:role/batch-ops, got ${describeValue(arn)}`, {
      argument,
    })
  }
}

/** Throws InvalidArgumentError unless `arn` is a Lambda function ARN (optionally with a version or alias). */
export function validateFunctionArn(arn: unknown, argument = 'functionArn'): asserts arn is string {
  if (typeof arn !== 'string' || !/^arn:aws(-[a-z]+)*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]{1,64}(:(\$LATEST|[\w-]{1,128}))?$/.test(arn)) {
    throw new InvalidArgumentError(
      `Expected ${argument} to be a Lambda function ARN like arn:aws:lambda:us-east-1:123456789012:function:name, got ${describeValue(arn)}`,
      { argument },
    )
  }
}

/** Throws InvalidArgumentError unless `id` is a 12-digit AWS account ID. */
export function validateAccountId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !/^\d{12}$/.test(id)) {
    throw new InvalidArgumentError(`Expected accountId to be a 12-digit AWS account ID (a string), got ${describeValue(id)}`, { argument: 'accountId' })
  }
}
