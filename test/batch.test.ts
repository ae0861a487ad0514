import { createHash } from 'node:crypto'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  AbortError,
  AccessDeniedError,
  BucketflowError,
  IntegrityError,
  InvalidArgumentError,
  NoSuchKeyError,
  planBatchJob,
  readCompletionReport,
  submitBatchJob,
  UnsupportedFormatError,
  watchBatchJob,
  writeBatchManifest,
  type BatchJobPlanOptions,
  type BatchJobStatus,
  type CompletionTask,
} from '../src/index.js'
import { describeJobXml, ScriptedControl } from './support/control.js'
import { formEncode } from './support/inventory.js'
import { runScript } from './support/run-script.js'
import { useBucket } from './support/s3.js'

const ACCOUNT = '123456789012'
const ROLE = `arn:aws:iam::${ACCOUNT}:role/batch-operations`

/** A strict reader of the Batch Operations CSV manifest format, written from its documentation. */
function parseManifestStrictly(text: string): { bucket: string; key: string; versionId?: string }[] {
  expect(text.endsWith('\n')).toBe(true)
  const lines = text.slice(0, -1).split('\n')
  return lines.map((line) => {
    // No header, no quoting, no spaces: bucket,url-encoded-key[,version]
    const m = /^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9]),([A-Za-z0-9\-_.~/%]+)(?:,([^,"\r\n]+))?$/.exec(line)
    expect(m, line).not.toBeNull()
    // Strict percent-decoding: every % starts a valid escape; no + in the output at all.
    expect(/%(?![0-9A-F]{2})/.test(m![2]!)).toBe(false)
    const key = decodeURIComponent(m![2]!)
    return m![3] === undefined ? { bucket: m![1]!, key } : { bucket: m![1]!, key, versionId: m![3] }
  })
}

const KEYS = [
  'a b.txt',
  'c+d.txt',
  '100%/x.txt',
  'say "hi",ok.txt',
  'dir/sub dir/ü é.txt',
  '日本/😀',
  `long/${'x'.repeat(1019)}`,
  'plain/key-1.json',
  'tilde~dot._-',
]

describe('writeBatchManifest', () => {
  const bucket = useBucket('batch-manifest')

  it('writes header-less bucket,key lines with URL-encoded keys that a strict parser reads back', async () => {
    const rows = KEYS.map((key) => ({ bucket: 'photos', key }))
    const written = await writeBatchManifest(bucket(), 'jobs/m.csv', rows)
    const text = await bucket().read('jobs/m.csv')
    expect(parseManifestStrictly(text)).toEqual(rows)
    expect(text.split('\n')[0]).toBe('photos,a%20b.txt')
    expect(text.split('\n')[1]).toBe('photos,c%2Bd.txt')
    expect(text).toContain('photos,dir/sub%20dir/%C3%BC%20%C3%A9.txt\n')
    const head = await bucket().head('jobs/m.csv')
    expect(written).toEqual({
      key: 'jobs/m.csv',
      objectArn: `arn:aws:s3:::${bucket().name}/jobs/m.csv`,
      etag: head.etag.replaceAll('"', ''),
      rows: KEYS.length,
      fields: ['Bucket', 'Key'],
      buckets: ['photos'],
    })
  })

  it('writes version IDs when every row has one, from an async iterable', async () => {
    async function* rows() {
      for (const [i, key] of KEYS.entries()) yield { bucket: i % 2 ? 'photos' : 'archive', key, versionId: i === 0 ? null : `v${i}.A_b-c` }
    }
    const written = await writeBatchManifest(bucket(), 'jobs/v.csv', rows())
    expect(written.fields).toEqual(['Bucket', 'Key', 'VersionId'])
    expect(written.buckets.sort()).toEqual(['archive', 'photos'])
    const parsed = parseManifestStrictly(await bucket().read('jobs/v.csv'))
    expect(parsed.map((r) => r.versionId)).toEqual(KEYS.map((_, i) => (i === 0 ? 'null' : `v${i}.A_b-c`)))
  })

  it('stores nothing for mixed versions, a bad row, zero rows or a failing source', async () => {
    const cases: [string, () => Promise<unknown>][] = [
      [
        'mixed',
        () =>
          writeBatchManifest(bucket(), 'bad/mixed.csv', [
            { bucket: 'photos', key: 'a', versionId: 'v1' },
            { bucket: 'photos', key: 'b' },
          ]),
      ],
      [
        'bad bucket',
        () =>
          writeBatchManifest(bucket(), 'bad/bucket.csv', [
            { bucket: 'photos', key: 'a' },
            { bucket: 'Bad_Bucket', key: 'b' },
          ]),
      ],
      ['comma in version', () => writeBatchManifest(bucket(), 'bad/version.csv', [{ bucket: 'photos', key: 'a', versionId: 'v,1' }])],
      ['empty', () => writeBatchManifest(bucket(), 'bad/empty.csv', [])],
      ['not iterable', () => writeBatchManifest(bucket(), 'bad/none.csv', 42 as never)],
    ]
    for (const [name, call] of cases) {
      const err = await call().catch((e: unknown) => e)
      expect(err, name).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument, name).toBe('rows')
    }
    async function* failing() {
      for (let i = 0; i < 200_000; i++) yield { bucket: 'photos', key: `k/${'x'.repeat(100)}/${i}` }
      throw new Error('source broke')
    }
    const err = await writeBatchManifest(bucket(), 'bad/failing.csv', failing()).catch((e: unknown) => e)
    expect((err as Error).message).toBe('source broke')
    for (const key of ['bad/mixed.csv', 'bad/bucket.csv', 'bad/version.csv', 'bad/empty.csv', 'bad/failing.csv']) {
      expect(await bucket().exists(key), key).toBe(false)
    }
    expect(await bucket().listUploads()).toEqual([])
  })
})

function basePlan(over: Partial<BatchJobPlanOptions> = {}): BatchJobPlanOptions {
  return {
    accountId: ACCOUNT,
    roleArn: ROLE,
    operation: { kind: 'freeze', storageClass: 'DEEP_ARCHIVE' },
    manifest: { objectArn: 'arn:aws:s3:::jobs/m.csv', etag: '"0123456789abcdef0123456789abcdef"', buckets: ['photos'] },
    report: { bucket: 'job-reports', prefix: 'freeze', scope: 'FailedTasksOnly' },
    clientRequestToken: 'token-1',
    ...over,
  }
}

describe('planBatchJob', () => {
  it('plans a freeze as an in-place copy with the storage class, from a written manifest', () => {
    expect(planBatchJob(basePlan())).toEqual({
      AccountId: ACCOUNT,
      ConfirmationRequired: false,
      ClientRequestToken: 'token-1',
      Priority: 10,
      RoleArn: ROLE,
      Operation: { S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::photos', StorageClass: 'DEEP_ARCHIVE', MetadataDirective: 'COPY' } },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: 'arn:aws:s3:::jobs/m.csv', ETag: '0123456789abcdef0123456789abcdef' },
      },
      Report: { Enabled: true, Bucket: 'arn:aws:s3:::job-reports', Format: 'Report_CSV_20180820', ReportScope: 'FailedTasksOnly', Prefix: 'freeze' },
    })
  })

  it('plans copy, restore, tag and lambda jobs over inventory and generated manifests', () => {
    const inventory = { inventoryManifestArn: 'arn:aws:s3:::inv/inv/photos/daily/2024-05-01T01-00Z/manifest.json', etag: 'abc', sourceBucket: 'photos' }
    const copy = planBatchJob(
      basePlan({
        operation: { kind: 'copy', targetBucket: 'backup', targetKeyPrefix: 'photos/', storageClass: 'GLACIER_IR' },
        manifest: inventory,
        report: false,
      }),
    )
    expect(copy.Operation).toEqual({
      S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::backup', TargetKeyPrefix: 'photos/', StorageClass: 'GLACIER_IR', MetadataDirective: 'COPY' },
    })
    expect(copy.Manifest).toEqual({ Spec: { Format: 'S3InventoryReport_CSV_20161130' }, Location: { ObjectArn: inventory.inventoryManifestArn, ETag: 'abc' } })
    expect(copy.Report).toEqual({ Enabled: false })
    const restore = planBatchJob(
      basePlan({
        operation: { kind: 'restore', days: 7, tier: 'BULK' },
        manifest: {
          generator: {
            sourceBucket: 'archive',
            filter: { prefixes: ['2019/'], minSize: 1, storageClasses: ['GLACIER'], createdBefore: new Date('2020-01-01T00:00:00Z') },
          },
        },
      }),
    )
    expect(restore.Operation).toEqual({ S3InitiateRestoreObject: { ExpirationInDays: 7, GlacierJobTier: 'BULK' } })
    expect(restore.ManifestGenerator).toEqual({
      S3JobManifestGenerator: {
        SourceBucket: 'arn:aws:s3:::archive',
        EnableManifestOutput: false,
        Filter: {
          KeyNameConstraint: { MatchAnyPrefix: ['2019/'] },
          CreatedBefore: new Date('2020-01-01T00:00:00Z'),
          ObjectSizeGreaterThanBytes: 1,
          MatchAnyStorageClass: ['GLACIER'],
        },
      },
    })
    expect(restore.Manifest).toBeUndefined()
    expect(planBatchJob(basePlan({ operation: { kind: 'tag', tags: { expire: 'yes' } } })).Operation).toEqual({
      S3PutObjectTagging: { TagSet: [{ Key: 'expire', Value: 'yes' }] },
    })
    const fn = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:resize`
    expect(planBatchJob(basePlan({ operation: { kind: 'lambda', functionArn: fn } })).Operation).toEqual({ LambdaInvoke: { FunctionArn: fn } })
    // A default token is a UUID, within 64 characters.
    const { clientRequestToken: _, ...noToken } = basePlan()
    expect(planBatchJob(noToken).ClientRequestToken).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('refuses a missing ETag, two operations, a 65-character token and bad ARNs', () => {
    const refuse = (over: Partial<BatchJobPlanOptions>, argument: string) => {
      let err: unknown
      try {
        planBatchJob(basePlan(over))
      } catch (e) {
        err = e
      }
      expect(err, argument).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument, (err as Error).message).toBe(argument)
    }
    refuse({ manifest: { objectArn: 'arn:aws:s3:::jobs/m.csv', etag: '' } }, 'manifest.etag')
    refuse({ manifest: { objectArn: 'arn:aws:s3:::jobs/m.csv' } as never }, 'manifest.etag')
    refuse({ manifest: { inventoryManifestArn: 'arn:aws:s3:::inv/x/manifest.json', etag: '""' } }, 'manifest.etag')
    refuse(
      {
        operation: [
          { kind: 'tag', tags: {} },
          { kind: 'freeze', storageClass: 'GLACIER' },
        ] as never,
      },
      'operation',
    )
    refuse({ operation: { kind: 'tag', tags: {}, S3PutObjectCopy: {} } as never }, 'operation')
    refuse({ clientRequestToken: 'x'.repeat(65) }, 'clientRequestToken')
    refuse({ roleArn: 'arn:aws:iam::123:role/x' }, 'roleArn')
    refuse({ accountId: '12345' }, 'accountId')
    refuse({ manifest: { objectArn: 'photos/m.csv', etag: 'e' } }, 'manifest.objectArn')
    refuse({ operation: { kind: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:1:function:x' } }, 'operation.functionArn')
    refuse({ operation: { kind: 'restore', days: 7, tier: 'EXPEDITED' as never } }, 'operation.tier')
    refuse({ operation: { kind: 'freeze', storageClass: 'COLD' as never } }, 'operation.storageClass')
    refuse({ manifest: { objectArn: 'arn:aws:s3:::jobs/m.csv', etag: 'e', buckets: ['a', 'b'] } }, 'manifest')
    refuse({ manifest: { objectArn: 'arn:aws:s3:::jobs/m.csv', etag: 'e', generator: { sourceBucket: 'x' } } as never }, 'manifest')
    refuse({ operation: { kind: 'tag', tags: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`t${i}`, 'v'])) } }, 'operation.tags')
    expect(() => planBatchJob(basePlan({ clientRequestToken: 'x'.repeat(64) }))).not.toThrow()
  })
})

describe('submitBatchJob and watchBatchJob (S3 Control through a recording handler, no network)', () => {
  it('sends one CreateJob: POST /v20180820/jobs, the account header, exactly one Operation', async () => {
    const control = new ScriptedControl(() => ({ body: '<?xml version="1.0"?><CreateJobResult><JobId>job-0001</JobId></CreateJobResult>' }))
    const plan = planBatchJob(basePlan({ operation: { kind: 'tag', tags: { a: 'b & c' } } }))
    expect(await submitBatchJob(await control.client(), plan)).toEqual({ jobId: 'job-0001' })
    expect(control.requests).toHaveLength(1)
    const [req] = control.requests
    expect(req!.method).toBe('POST')
    expect(req!.path).toBe('/v20180820/jobs')
    expect(req!.headers['x-amz-account-id']).toBe(ACCOUNT)
    expect(req!.hostname).toBe(`${ACCOUNT}.s3-control.us-east-1.amazonaws.com`)
    const operation = /<Operation>(.*)<\/Operation>/s.exec(req!.body)![1]!
    const members = [
      'LambdaInvoke',
      'S3PutObjectCopy',
      'S3PutObjectAcl',
      'S3PutObjectTagging',
      'S3DeleteObjectTagging',
      'S3InitiateRestoreObject',
      'S3PutObjectLegalHold',
      'S3PutObjectRetention',
      'S3ReplicateObject',
      'S3ComputeObjectChecksum',
    ]
    expect(members.filter((m) => operation.includes(`<${m}>`))).toEqual(['S3PutObjectTagging'])
    expect(operation).toBe('<S3PutObjectTagging><TagSet><member><Key>a</Key><Value>b &amp; c</Value></member></TagSet></S3PutObjectTagging>')
    expect(req!.body).toContain('<ClientRequestToken>token-1</ClientRequestToken>')
    expect(req!.body).toContain('<ETag>0123456789abcdef0123456789abcdef</ETag>')
  })

  it('refuses a hand-made request with two operations or a long token before sending, and types errors', async () => {
    const control = new ScriptedControl(() => ({
      status: 403,
      body: '<?xml version="1.0"?><ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>',
    }))
    const client = await control.client()
    const plan = planBatchJob(basePlan())
    const two = { ...plan, Operation: { ...plan.Operation, S3PutObjectTagging: { TagSet: [] } } }
    const err1 = await submitBatchJob(client, two).catch((e: unknown) => e)
    expect((err1 as InvalidArgumentError).argument).toBe('Operation')
    const err2 = await submitBatchJob(client, { ...plan, ClientRequestToken: 'y'.repeat(65) }).catch((e: unknown) => e)
    expect((err2 as InvalidArgumentError).argument).toBe('ClientRequestToken')
    const err3 = await submitBatchJob(client, {
      ...plan,
      Manifest: { ...plan.Manifest!, Location: { ObjectArn: 'arn:aws:s3:::jobs/m.csv', ETag: undefined } },
    }).catch((e: unknown) => e)
    expect((err3 as InvalidArgumentError).argument).toBe('Manifest.Location.ETag')
    expect(control.requests).toEqual([])
    const denied = await submitBatchJob(client, plan).catch((e: unknown) => e)
    expect(denied).toBeInstanceOf(AccessDeniedError)
    expect((denied as AccessDeniedError).statusCode).toBe(403)
  })

  it('walks New -> Active -> Complete, and ends on Failed with its reasons', async () => {
    const script = [
      describeJobXml('job-0001', 'New', 0, 0, 0),
      describeJobXml('job-0001', 'Active', 10, 4, 1),
      describeJobXml('job-0001', 'Complete', 10, 9, 1),
      describeJobXml('job-0001', 'Complete', 10, 9, 1),
    ]
    const control = new ScriptedControl(() => ({ body: script.shift()! }))
    const seen: BatchJobStatus[] = []
    for await (const s of watchBatchJob(await control.client(), { accountId: ACCOUNT, jobId: 'job-0001', intervalMs: 1 })) seen.push(s)
    expect(seen.map((s) => [s.status, s.total, s.succeeded, s.failed, s.terminal])).toEqual([
      ['New', 0, 0, 0, false],
      ['Active', 10, 4, 1, false],
      ['Complete', 10, 9, 1, true],
    ])
    expect(seen[2]!.report).toEqual({ bucket: 'job-reports', prefix: 'freeze' })
    expect(control.requests.map((r) => [r.method, r.path, r.headers['x-amz-account-id']])).toEqual(Array(3).fill(['GET', '/v20180820/jobs/job-0001', ACCOUNT]))

    const failed = new ScriptedControl(() => ({ body: describeJobXml('job-0002', 'Failed', 0, 0, 0, [{ code: 'ManifestNotFound', reason: 'no manifest' }]) }))
    const statuses: BatchJobStatus[] = []
    for await (const s of watchBatchJob(await failed.client(), { accountId: ACCOUNT, jobId: 'job-0002', intervalMs: 1 })) statuses.push(s)
    expect(statuses).toHaveLength(1)
    expect(statuses[0]).toMatchObject({ status: 'Failed', terminal: true, failureReasons: [{ code: 'ManifestNotFound', reason: 'no manifest' }] })
  })

  it('ends with AbortError when its signal aborts between polls, without further requests', async () => {
    const control = new ScriptedControl(() => ({ body: describeJobXml('job-0003', 'Active', 10, 1, 0) }))
    const controller = new AbortController()
    const seen: string[] = []
    const err = await (async () => {
      for await (const s of watchBatchJob(await control.client(), {
        accountId: ACCOUNT,
        jobId: 'job-0003',
        intervalMs: 3_600_000,
        signal: controller.signal,
      })) {
        seen.push(s.status)
        controller.abort()
      }
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AbortError)
    expect(seen).toEqual(['Active'])
    expect(control.requests).toHaveLength(1)
    const bad = await (async () => {
      for await (const _ of watchBatchJob(await control.client(), { accountId: ACCOUNT, jobId: 'no spaces allowed' })) break
    })().catch((e: unknown) => e)
    expect((bad as InvalidArgumentError).argument).toBe('jobId')
  })

  it("does not load @aws-sdk/client-s3-control on import 'bucketflow', only when used", async () => {
    const run = await runScript(resolve(import.meta.dirname, 'support/module-probe.ts'))
    expect(run.code, run.stderr).toBe(0)
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { phase: string; s3Control: boolean })
    expect(lines.map((l) => [l.phase, l.s3Control])).toEqual([
      ['import', false],
      ['createControlClient', true],
    ])
  })
})

describe('readCompletionReport', () => {
  const bucket = useBucket('batch-report')
  const md5 = (s: string) => createHash('md5').update(s).digest('hex')

  async function writeReport(
    prefix: string,
    files: { status: string; text: string }[],
    schema = 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
  ) {
    const results = []
    for (const [i, f] of files.entries()) {
      const key = `${prefix}/job-0001/results/${i}-${f.status}.csv`
      await bucket().put(f.text, key, { literal: true })
      results.push({ TaskExecutionStatus: f.status, Bucket: bucket().name, MD5Checksum: md5(f.text), Key: key })
    }
    const manifestKey = `${prefix}/job-0001/manifest.json`
    await bucket().put(
      JSON.stringify({ Format: 'Report_CSV_20180820', ReportCreationDate: '2024-05-01T17:48:39.725Z', Results: results, ReportSchema: schema }),
      manifestKey,
      { literal: true },
    )
    return manifestKey
  }

  const succeeded = `photos,${formEncode('a b.txt')},,succeeded,200,,Successful\nphotos,${formEncode('c+d/ü.txt')},v1,succeeded,200,,Successful\n`
  const failed =
    'photos,locked.txt,,failed,403,AccessDenied,Access Denied\nphotos,fn.txt,,failed,200,PermanentFailure,"Lambda returned function error: {""errorMessage"":""timed out, again""}"\n\n'

  it('yields every task of every result file, failures with their codes', async () => {
    const key = await writeReport('r1', [
      { status: 'succeeded', text: succeeded },
      { status: 'failed', text: failed },
    ])
    const tasks: CompletionTask[] = []
    for await (const t of readCompletionReport(bucket(), key)) tasks.push(t)
    expect(tasks).toEqual([
      { bucket: 'photos', key: 'a b.txt', status: 'succeeded', httpStatusCode: 200, resultMessage: 'Successful', file: 'succeeded' },
      { bucket: 'photos', key: 'c+d/ü.txt', versionId: 'v1', status: 'succeeded', httpStatusCode: 200, resultMessage: 'Successful', file: 'succeeded' },
      { bucket: 'photos', key: 'locked.txt', status: 'failed', httpStatusCode: 403, errorCode: 'AccessDenied', resultMessage: 'Access Denied', file: 'failed' },
      {
        bucket: 'photos',
        key: 'fn.txt',
        status: 'failed',
        httpStatusCode: 200,
        errorCode: 'PermanentFailure',
        resultMessage: 'Lambda returned function error: {"errorMessage":"timed out, again"}',
        file: 'failed',
      },
    ])
  })

  it('fails with IntegrityError on a result file that does not match its MD5, and types bad manifests', async () => {
    const key = await writeReport('r2', [{ status: 'failed', text: failed }])
    await bucket().put(failed.replace('403', '404'), 'r2/job-0001/results/0-failed.csv', { literal: true })
    const err = await (async () => {
      for await (const _ of readCompletionReport(bucket(), key)) expect.unreachable('no row of a corrupt file')
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    await bucket().put(JSON.stringify({ Format: 'Report_PARQUET_20990101', Results: [] }), 'r3/manifest.json', { literal: true })
    const unsupported = await readCompletionReport(bucket(), 'r3/manifest.json')
      .next()
      .catch((e: unknown) => e)
    expect(unsupported).toBeInstanceOf(UnsupportedFormatError)
    await bucket().put('{"sourceBucket":"x"}', 'r4/manifest.json', { literal: true })
    const wrong = await readCompletionReport(bucket(), 'r4/manifest.json')
      .next()
      .catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(BucketflowError)
    const missing = await readCompletionReport(bucket(), 'nope/manifest.json')
      .next()
      .catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(NoSuchKeyError)
  })
})
