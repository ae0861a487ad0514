/**
 * `planBatchJob`: a validated S3 Batch Operations `CreateJob` request for what bucketflow does on
 * one machine (freeze, copy, restore, tag) or user code (a Lambda function), over a manifest
 * bucketflow wrote, an S3 Inventory report, or a manifest S3 generates itself. Nothing is sent:
 * submit the plan with {@link submitBatchJob} (every job costs money), or print it.
 *
 * What Batch Operations cannot do: delete objects (tag them and let a lifecycle rule expire them,
 * or fan out bucketflow with Step Functions: {@link writeKeyRanges}), copy objects over 5 GB, or
 * copy between more than one source and one destination bucket per job.
 *
 * @example
 * ```ts
 * import { planBatchJob } from 'bucketflow'
 * const written = await writeBatchManifest(bucket, 'jobs/freeze-2019.csv', [{ bucket: 'photos', key: '2019/a.jpg' }])
 * const plan = planBatchJob({
 *   accountId: '123456789012',
 *   roleArn: 'arn:aws:iam::123456789012:role/batch-operations',
 *   operation: { kind: 'freeze', storageClass: 'DEEP_ARCHIVE' },
 *   manifest: written, // from writeBatchManifest
 *   report: { bucket: 'job-reports', prefix: 'freeze/', scope: 'FailedTasksOnly' },
 * })
 * ```
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto'
import type { CreateJobCommandInput, JobManifestGeneratorFilter, JobOperation, JobReport, S3StorageClass } from '@aws-sdk/client-s3-control'
import { InvalidArgumentError } from '../errors.js'
import { describeValue, validateBucketName, validateInteger } from '../validate.js'
import { bucketArn, bucketOfArn, validateAccountId, validateFunctionArn, validateObjectArn, validatePartition, validateRoleArn } from './arn.js'

/**
 * Storage classes a Batch Operations copy can write.
 *
 * @example
 * ```ts
 * BATCH_STORAGE_CLASSES.includes('GLACIER_IR') // true
 * ```
 */
export const BATCH_STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'GLACIER', 'INTELLIGENT_TIERING', 'DEEP_ARCHIVE', 'GLACIER_IR'] as const

/** A storage class of {@link BATCH_STORAGE_CLASSES}. */
export type BatchStorageClass = (typeof BATCH_STORAGE_CLASSES)[number]

/** What the job does to each object. */
export type BatchOperation =
  /** Copy each object onto itself with a new storage class (S3PutObjectCopy in place). */
  | { kind: 'freeze'; storageClass: BatchStorageClass }
  /** Copy each object to another bucket (S3PutObjectCopy), optionally under a prefix and in a storage class. */
  | { kind: 'copy'; targetBucket: string; targetKeyPrefix?: string; storageClass?: BatchStorageClass }
  /** Restore archived objects for `days` days (S3InitiateRestoreObject). */
  | { kind: 'restore'; days: number; tier: 'BULK' | 'STANDARD' }
  /** Replace each object's tag set (S3PutObjectTagging). */
  | { kind: 'tag'; tags: Record<string, string> }
  /** Invoke a Lambda function per object (LambdaInvoke). */
  | { kind: 'lambda'; functionArn: string }

/** The objects of a job. */
export type BatchManifestSource =
  /** A CSV manifest, e.g. from {@link writeBatchManifest} (whose result fits as is). */
  | { objectArn: string; etag: string; fields?: readonly ('Bucket' | 'Key' | 'VersionId' | 'Ignore')[]; buckets?: readonly string[] }
  /** An S3 Inventory report's manifest.json (CSV inventories only). `sourceBucket` names the objects' bucket for a freeze. */
  | { inventoryManifestArn: string; etag: string; sourceBucket?: string }
  /** Let S3 list the bucket (no Inventory wait): objects of `sourceBucket` matching `filter`. */
  | { generator: { sourceBucket: string; filter?: BatchGeneratorFilter; expectedBucketOwner?: string } }

/** Which objects a generated manifest keeps. */
export interface BatchGeneratorFilter {
  prefixes?: readonly string[]
  suffixes?: readonly string[]
  substrings?: readonly string[]
  createdAfter?: Date
  createdBefore?: Date
  /** Objects larger than this many bytes. */
  minSize?: number
  /** Objects smaller than this many bytes. */
  maxSize?: number
  storageClasses?: readonly BatchStorageClass[]
}

/** Options for {@link planBatchJob}. */
export interface BatchJobPlanOptions {
  /** The AWS account (12 digits) that owns the job. */
  accountId: string
  /** The role Batch Operations assumes (trusted by `batchoperations.s3.amazonaws.com`). */
  roleArn: string
  operation: BatchOperation
  manifest: BatchManifestSource
  /** A completion report, or `false` for none. */
  report: false | { bucket: string; prefix?: string; scope?: 'AllTasks' | 'FailedTasksOnly' }
  /** Higher runs first (not guaranteed). Default 10. */
  priority?: number
  /** Idempotency token, 1 to 64 characters: resubmitting the same plan makes no second job. Default: a random UUID. */
  clientRequestToken?: string
  /** The job waits in `Suspended` until confirmed (UpdateJobStatus to Ready). Default false. */
  confirmationRequired?: boolean
  /** Up to 256 characters. */
  description?: string
  /** ARN partition. Default 'aws'. */
  partition?: string
}

const OPERATION_KEYS: Record<BatchOperation['kind'], readonly string[]> = {
  freeze: ['kind', 'storageClass'],
  copy: ['kind', 'targetBucket', 'targetKeyPrefix', 'storageClass'],
  restore: ['kind', 'days', 'tier'],
  tag: ['kind', 'tags'],
  lambda: ['kind', 'functionArn'],
}

function fail(argument: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, { argument })
}

function validateStorageClass(value: unknown, argument: string): asserts value is BatchStorageClass {
  if (!BATCH_STORAGE_CLASSES.includes(value as BatchStorageClass)) {
    throw fail(argument, `Expected ${argument} to be one of ${BATCH_STORAGE_CLASSES.join(', ')}, got ${describeValue(value)}`)
  }
}

function validateEtag(etag: unknown, argument: string): string {
  if (typeof etag !== 'string' || etag.replaceAll('"', '').trim() === '') {
    throw fail(argument, `Expected ${argument} (the manifest object's ETag, which CreateJob requires) to be a non-empty string, got ${describeValue(etag)}`)
  }
  return etag.replaceAll('"', '')
}

function operationOf(op: BatchOperation, sourceBucket: string | undefined, partition: string): JobOperation {
  if (op === null || typeof op !== 'object' || Array.isArray(op)) {
    throw fail(
      'operation',
      `Expected operation to be exactly one { kind, ... } (freeze, copy, restore, tag or lambda), got ${describeValue(op)}${Array.isArray(op) ? ': a job has exactly one operation' : ''}`,
    )
  }
  const allowed = OPERATION_KEYS[op.kind]
  if (allowed === undefined)
    throw fail('operation', `Expected operation.kind to be freeze, copy, restore, tag or lambda, got ${describeValue((op as { kind?: unknown }).kind)}`)
  const extra = Object.keys(op).filter((k) => !allowed.includes(k))
  if (extra.length > 0)
    throw fail('operation', `A ${op.kind} operation takes ${allowed.join(', ')}; got also ${extra.join(', ')} (a job has exactly one operation)`)
  switch (op.kind) {
    case 'freeze':
      validateStorageClass(op.storageClass, 'operation.storageClass')
      if (sourceBucket === undefined) {
        throw fail(
          'manifest',
          'A freeze copies objects onto themselves: the manifest must name one source bucket (writeBatchManifest rows of one bucket, sourceBucket of an inventory manifest, or a generator)',
        )
      }
      return { S3PutObjectCopy: { TargetResource: bucketArn(sourceBucket, partition), StorageClass: op.storageClass, MetadataDirective: 'COPY' } }
    case 'copy': {
      validateBucketName(op.targetBucket)
      const copy: NonNullable<JobOperation['S3PutObjectCopy']> = { TargetResource: bucketArn(op.targetBucket, partition), MetadataDirective: 'COPY' }
      if (op.targetKeyPrefix !== undefined) {
        if (typeof op.targetKeyPrefix !== 'string' || op.targetKeyPrefix === '' || Buffer.byteLength(op.targetKeyPrefix) > 1024) {
          throw fail('operation.targetKeyPrefix', `Expected targetKeyPrefix to be 1 to 1024 bytes, got ${describeValue(op.targetKeyPrefix)}`)
        }
        copy.TargetKeyPrefix = op.targetKeyPrefix
      }
      if (op.storageClass !== undefined) {
        validateStorageClass(op.storageClass, 'operation.storageClass')
        copy.StorageClass = op.storageClass as S3StorageClass
      }
      return { S3PutObjectCopy: copy }
    }
    case 'restore': {
      validateInteger(op.days, 'operation.days', 1, 2_147_483_647)
      const tier = typeof op.tier === 'string' ? op.tier.toUpperCase() : op.tier
      if (tier !== 'BULK' && tier !== 'STANDARD')
        throw fail('operation.tier', `Expected tier to be 'BULK' or 'STANDARD' (Batch Operations has no Expedited restores), got ${describeValue(op.tier)}`)
      return { S3InitiateRestoreObject: { ExpirationInDays: op.days, GlacierJobTier: tier } }
    }
    case 'tag': {
      const tags = op.tags
      if (tags === null || typeof tags !== 'object' || Array.isArray(tags))
        throw fail('operation.tags', `Expected tags to be an object of string values, got ${describeValue(tags)}`)
      const entries = Object.entries(tags)
      if (entries.length > 10) throw fail('operation.tags', `S3 allows at most 10 tags per object, got ${entries.length}`)
      for (const [k, v] of entries) {
        if (k === '' || k.length > 128 || typeof v !== 'string' || v.length > 256) {
          throw fail('operation.tags', `Expected tag keys of 1-128 and values of 0-256 characters, got ${describeValue(k)}: ${describeValue(v)}`)
        }
      }
      return { S3PutObjectTagging: { TagSet: entries.map(([Key, Value]) => ({ Key, Value })) } }
    }
    case 'lambda':
      validateFunctionArn(op.functionArn, 'operation.functionArn')
      return { LambdaInvoke: { FunctionArn: op.functionArn } }
  }
}

function filterOf(filter: BatchGeneratorFilter): JobManifestGeneratorFilter {
  const out: JobManifestGeneratorFilter = {}
  const list = (v: unknown, name: string): string[] => {
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === ''))
      throw fail(`manifest.generator.filter.${name}`, `Expected ${name} to be a non-empty array of non-empty strings, got ${describeValue(v)}`)
    return [...(v as string[])]
  }
  const constraint: NonNullable<JobManifestGeneratorFilter['KeyNameConstraint']> = {}
  if (filter.prefixes !== undefined) constraint.MatchAnyPrefix = list(filter.prefixes, 'prefixes')
  if (filter.suffixes !== undefined) constraint.MatchAnySuffix = list(filter.suffixes, 'suffixes')
  if (filter.substrings !== undefined) constraint.MatchAnySubstring = list(filter.substrings, 'substrings')
  if (Object.keys(constraint).length > 0) out.KeyNameConstraint = constraint
  for (const [name, value] of [
    ['createdAfter', filter.createdAfter],
    ['createdBefore', filter.createdBefore],
  ] as const) {
    if (value === undefined) continue
    if (!(value instanceof Date) || Number.isNaN(value.getTime()))
      throw fail(`manifest.generator.filter.${name}`, `Expected ${name} to be a valid Date, got ${describeValue(value)}`)
  }
  if (filter.createdAfter !== undefined) out.CreatedAfter = filter.createdAfter
  if (filter.createdBefore !== undefined) out.CreatedBefore = filter.createdBefore
  if (filter.minSize !== undefined) {
    validateInteger(filter.minSize, 'manifest.generator.filter.minSize', 0)
    out.ObjectSizeGreaterThanBytes = filter.minSize
  }
  if (filter.maxSize !== undefined) {
    validateInteger(filter.maxSize, 'manifest.generator.filter.maxSize', 1)
    out.ObjectSizeLessThanBytes = filter.maxSize
  }
  if (filter.storageClasses !== undefined) {
    for (const c of list(filter.storageClasses, 'storageClasses')) validateStorageClass(c, 'manifest.generator.filter.storageClasses')
    out.MatchAnyStorageClass = [...filter.storageClasses] as S3StorageClass[]
  }
  return out
}

/**
 * Build a `CreateJob` request (`CreateJobCommandInput` of `@aws-sdk/client-s3-control`) with
 * exactly one operation, after validating everything: a bad account ID, role or function ARN,
 * a missing ETag, a token over 64 characters, two operations, an unknown storage class or tier
 * all raise InvalidArgumentError naming the option.
 *
 * @example
 * ```ts
 * const plan = planBatchJob({
 *   accountId: '123456789012',
 *   roleArn: 'arn:aws:iam::123456789012:role/batch-operations',
 *   operation: { kind: 'restore', days: 7, tier: 'BULK' },
 *   manifest: { generator: { sourceBucket: 'archive', filter: { prefixes: ['2019/'] } } },
 *   report: { bucket: 'job-reports', scope: 'AllTasks' },
 *   clientRequestToken: 'restore-2019-archive',
 * })
 * console.log(JSON.stringify(plan, null, 2))
 * ```
 */
export function planBatchJob(options: BatchJobPlanOptions): CreateJobCommandInput {
  if (options === null || typeof options !== 'object') throw fail('options', `Expected options, got ${describeValue(options)}`)
  validateAccountId(options.accountId)
  validateRoleArn(options.roleArn)
  const partition = options.partition ?? 'aws'
  validatePartition(partition)
  const priority = options.priority ?? 10
  validateInteger(priority, 'priority', 0, 2_147_483_647)
  const token = options.clientRequestToken ?? randomUUID()
  if (typeof token !== 'string' || token.length < 1 || token.length > 64) {
    throw fail(
      'clientRequestToken',
      `Expected clientRequestToken to be 1 to 64 characters, got ${typeof token === 'string' ? `${token.length} characters` : describeValue(token)}`,
    )
  }
  if (options.description !== undefined && (typeof options.description !== 'string' || options.description.length < 1 || options.description.length > 256)) {
    throw fail('description', `Expected description to be 1 to 256 characters, got ${describeValue(options.description)}`)
  }
  if (options.confirmationRequired !== undefined && typeof options.confirmationRequired !== 'boolean') {
    throw fail('confirmationRequired', `Expected confirmationRequired to be a boolean, got ${describeValue(options.confirmationRequired)}`)
  }

  const m = options.manifest as Record<string, unknown> | null
  if (m === null || typeof m !== 'object')
    throw fail('manifest', `Expected manifest to be { objectArn, etag }, { inventoryManifestArn, etag } or { generator }, got ${describeValue(m)}`)
  const forms = ['objectArn', 'inventoryManifestArn', 'generator'].filter((k) => m[k] !== undefined)
  if (forms.length !== 1)
    throw fail(
      'manifest',
      `Expected manifest to have exactly one of objectArn, inventoryManifestArn or generator, got ${forms.length === 0 ? 'none' : forms.join(' and ')}`,
    )
  const input: CreateJobCommandInput = {
    AccountId: options.accountId,
    ConfirmationRequired: options.confirmationRequired ?? false,
    Operation: undefined,
    Report: undefined,
    ClientRequestToken: token,
    Priority: priority,
    RoleArn: options.roleArn,
  }
  let sourceBucket: string | undefined
  if ('objectArn' in options.manifest) {
    const man = options.manifest
    validateObjectArn(man.objectArn, 'manifest.objectArn')
    const etag = validateEtag(man.etag, 'manifest.etag')
    const fields = man.fields ?? ['Bucket', 'Key']
    if (
      !Array.isArray(fields) ||
      !fields.includes('Bucket') ||
      !fields.includes('Key') ||
      fields.some((x) => !['Bucket', 'Key', 'VersionId', 'Ignore'].includes(x))
    ) {
      throw fail('manifest.fields', `Expected fields of Bucket, Key, VersionId, Ignore including Bucket and Key, got ${describeValue(fields)}`)
    }
    if (man.buckets !== undefined && man.buckets.length === 1) sourceBucket = man.buckets[0]
    input.Manifest = { Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: [...fields] }, Location: { ObjectArn: man.objectArn, ETag: etag } }
  } else if ('inventoryManifestArn' in options.manifest) {
    const man = options.manifest
    validateObjectArn(man.inventoryManifestArn, 'manifest.inventoryManifestArn')
    if (!man.inventoryManifestArn.endsWith('/manifest.json'))
      throw fail('manifest.inventoryManifestArn', `Expected the ARN of an inventory report's manifest.json, got ${describeValue(man.inventoryManifestArn)}`)
    const etag = validateEtag(man.etag, 'manifest.etag')
    if (man.sourceBucket !== undefined) {
      validateBucketName(man.sourceBucket)
      sourceBucket = man.sourceBucket
    }
    input.Manifest = { Spec: { Format: 'S3InventoryReport_CSV_20161130' }, Location: { ObjectArn: man.inventoryManifestArn, ETag: etag } }
  } else {
    const g = (options.manifest as { generator: unknown }).generator as {
      sourceBucket?: unknown
      filter?: BatchGeneratorFilter
      expectedBucketOwner?: unknown
    } | null
    if (g === null || typeof g !== 'object') throw fail('manifest.generator', `Expected generator to be { sourceBucket, filter? }, got ${describeValue(g)}`)
    validateBucketName(g.sourceBucket)
    sourceBucket = g.sourceBucket
    const generator: NonNullable<NonNullable<CreateJobCommandInput['ManifestGenerator']>['S3JobManifestGenerator']> = {
      SourceBucket: bucketArn(g.sourceBucket, partition),
      EnableManifestOutput: false,
    }
    if (g.expectedBucketOwner !== undefined) {
      if (typeof g.expectedBucketOwner !== 'string' || !/^\d{12}$/.test(g.expectedBucketOwner))
        throw fail('manifest.generator.expectedBucketOwner', `Expected a 12-digit account ID, got ${describeValue(g.expectedBucketOwner)}`)
      generator.ExpectedBucketOwner = g.expectedBucketOwner
    }
    if (g.filter !== undefined) {
      if (g.filter === null || typeof g.filter !== 'object')
        throw fail('manifest.generator.filter', `Expected filter to be an object, got ${describeValue(g.filter)}`)
      generator.Filter = filterOf(g.filter)
    }
    input.ManifestGenerator = { S3JobManifestGenerator: generator }
  }
  input.Operation = operationOf(options.operation, sourceBucket, partition)

  const r = options.report
  if (r === false) input.Report = { Enabled: false }
  else {
    if (r === null || typeof r !== 'object') throw fail('report', `Expected report to be false or { bucket, prefix?, scope? }, got ${describeValue(r)}`)
    validateBucketName(r.bucket)
    const scope = r.scope ?? 'AllTasks'
    if (scope !== 'AllTasks' && scope !== 'FailedTasksOnly')
      throw fail('report.scope', `Expected scope to be 'AllTasks' or 'FailedTasksOnly', got ${describeValue(scope)}`)
    const report: JobReport = { Enabled: true, Bucket: bucketArn(r.bucket, partition), Format: 'Report_CSV_20180820', ReportScope: scope }
    if (r.prefix !== undefined) {
      if (typeof r.prefix !== 'string' || r.prefix === '' || r.prefix.length > 512)
        throw fail('report.prefix', `Expected prefix to be 1 to 512 characters, got ${describeValue(r.prefix)}`)
      report.Prefix = r.prefix
    }
    input.Report = report
  }
  if (options.description !== undefined) input.Description = options.description
  checkCreateJobInput(input)
  return input
}

/**
 * Structural check of a CreateJob request (also one not built by {@link planBatchJob}): account
 * ID, token length, exactly one operation, exactly one of Manifest or ManifestGenerator, a
 * manifest ETag, a report. Throws InvalidArgumentError.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises'
 * const input = JSON.parse(await readFile('job.json', 'utf8'))
 * checkCreateJobInput(input) // throws before anything is sent
 * ```
 */
export function checkCreateJobInput(input: CreateJobCommandInput): void {
  if (input === null || typeof input !== 'object') throw fail('input', `Expected a CreateJob request, got ${describeValue(input)}`)
  validateAccountId(input.AccountId)
  validateRoleArn(input.RoleArn, 'RoleArn')
  const token = input.ClientRequestToken
  if (typeof token !== 'string' || token.length < 1 || token.length > 64)
    throw fail('ClientRequestToken', `Expected ClientRequestToken to be 1 to 64 characters, got ${describeValue(token)}`)
  validateInteger(input.Priority, 'Priority', 0, 2_147_483_647)
  const ops = input.Operation === null || typeof input.Operation !== 'object' ? [] : Object.entries(input.Operation).filter(([, v]) => v !== undefined)
  if (ops.length !== 1)
    throw fail('Operation', `A job has exactly one operation, got ${ops.length}${ops.length > 0 ? ` (${ops.map(([k]) => k).join(', ')})` : ''}`)
  if ((input.Manifest === undefined) === (input.ManifestGenerator === undefined))
    throw fail('Manifest', 'Expected exactly one of Manifest or ManifestGenerator')
  if (input.Manifest !== undefined) {
    validateObjectArn(input.Manifest.Location?.ObjectArn, 'Manifest.Location.ObjectArn')
    validateEtag(input.Manifest.Location?.ETag, 'Manifest.Location.ETag')
  }
  if (input.Report === undefined || typeof input.Report.Enabled !== 'boolean')
    throw fail('Report', 'Expected Report: { Enabled: false } or a completion report location')
  if (input.Report.Enabled && (typeof input.Report.Bucket !== 'string' || bucketOfArn(input.Report.Bucket) === ''))
    throw fail('Report', 'An enabled report needs Bucket (an ARN)')
}
