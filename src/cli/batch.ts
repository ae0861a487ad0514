/**
 * `bucketflow batch manifest|plan|submit|watch|report`: S3 Batch Operations, for bulk work on
 * more objects than one machine should touch. bucketflow writes the manifest and the CreateJob
 * request, submits it (only with --yes: every job costs money), follows it and reads its report.
 */
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import type { Command } from 'commander'
import { Option } from 'commander'
import type { S3ControlClient } from '@aws-sdk/client-s3-control'
import {
  type BatchJobPlanOptions,
  type BatchManifestRow,
  type BatchManifestSource,
  type BatchOperation,
  type BatchStorageClass,
  type Bucket,
  createControlClient,
  headObject,
  InvalidArgumentError,
  listPages,
  planBatchJob,
  readCompletionReport,
  readInventory,
  submitBatchJob,
  watchBatchJob,
  writeBatchManifest,
} from '../index.js'
import { act, EXIT_FAILED, EXIT_OK, globals, openBucket, Output, parseS3Url, positiveInt, type GlobalOptions } from './common.js'
import { resolveManifest } from './inventory.js'

interface ControlOptions {
  controlEndpoint?: string
}

async function controlClient(g: GlobalOptions, opts: ControlOptions): Promise<S3ControlClient> {
  return createControlClient({
    ...(g.region ? { region: g.region } : {}),
    // A custom endpoint (an S3 Control-compatible service) is used as it is: the endpoint rules
    // would put the account ID in front of its host name.
    ...(opts.controlEndpoint ? { endpointProvider: () => ({ url: new URL(opts.controlEndpoint!) }), disableHostPrefix: true } : {}),
  })
}

/** The distinct buckets and the column count of a CSV manifest, read through once. */
async function scanCsvManifest(bucket: Bucket, key: string): Promise<{ buckets: string[]; versioned: boolean }> {
  const buckets = new Set<string>()
  let versioned: boolean | undefined
  for await (const line of createInterface({ input: bucket.stream(key), crlfDelay: Infinity })) {
    if (line === '') continue
    const fields = line.split(',')
    versioned ??= fields.length >= 3
    if (buckets.size < 2) buckets.add(fields[0]!)
  }
  return { buckets: [...buckets], versioned: versioned ?? false }
}

function operationOf(opts: PlanCliOptions): BatchOperation {
  const storageClass = opts.storageClass as BatchStorageClass | undefined
  switch (opts.operation) {
    case 'freeze':
      return { kind: 'freeze', storageClass: storageClass ?? 'DEEP_ARCHIVE' }
    case 'copy': {
      if (!opts.targetBucket) throw new InvalidArgumentError('--operation copy needs --target-bucket', { argument: 'target-bucket' })
      return {
        kind: 'copy',
        targetBucket: opts.targetBucket,
        ...(opts.targetPrefix ? { targetKeyPrefix: opts.targetPrefix } : {}),
        ...(storageClass ? { storageClass } : {}),
      }
    }
    case 'restore':
      return { kind: 'restore', days: opts.days ?? 5, tier: (opts.tier ?? 'BULK').toUpperCase() as 'BULK' | 'STANDARD' }
    case 'tag': {
      const tags: Record<string, string> = {}
      for (const t of opts.tag ?? []) {
        const at = t.indexOf('=')
        if (at < 1) throw new InvalidArgumentError(`Expected --tag key=value, got ${JSON.stringify(t)}`, { argument: 'tag' })
        tags[t.slice(0, at)] = t.slice(at + 1)
      }
      if (Object.keys(tags).length === 0) throw new InvalidArgumentError('--operation tag needs at least one --tag key=value', { argument: 'tag' })
      return { kind: 'tag', tags }
    }
    case 'lambda':
      if (!opts.functionArn) throw new InvalidArgumentError('--operation lambda needs --function-arn', { argument: 'function-arn' })
      return { kind: 'lambda', functionArn: opts.functionArn }
    default:
      throw new InvalidArgumentError(`Expected --operation to be freeze, copy, restore, tag or lambda, got ${JSON.stringify(opts.operation)}`, {
        argument: 'operation',
      })
  }
}

interface PlanCliOptions {
  accountId: string
  roleArn: string
  operation: string
  storageClass?: string
  targetBucket?: string
  targetPrefix?: string
  days?: number
  tier?: string
  tag?: string[]
  functionArn?: string
  manifest?: string
  inventory?: string
  generate?: string
  report?: string | false
  reportScope: 'all' | 'failed'
  priority?: number
  token?: string
  description?: string
  confirm?: boolean
}

async function manifestOf(opts: PlanCliOptions, g: GlobalOptions): Promise<BatchManifestSource> {
  const given = [opts.manifest, opts.inventory, opts.generate].filter((x) => x !== undefined)
  if (given.length !== 1) throw new InvalidArgumentError('Give exactly one of --manifest, --inventory or --generate', { argument: 'manifest' })
  if (opts.manifest) {
    const { bucket: name, key } = parseS3Url(opts.manifest, 'manifest')
    const bucket = openBucket(name, g)
    const head = await headObject(bucket, key)
    const scan = await scanCsvManifest(bucket, key)
    return {
      objectArn: `arn:aws:s3:::${name}/${key}`,
      etag: head.etag,
      fields: scan.versioned ? ['Bucket', 'Key', 'VersionId'] : ['Bucket', 'Key'],
      buckets: scan.buckets,
    }
  }
  if (opts.inventory) {
    const { bucket: name, key } = parseS3Url(opts.inventory, 'inventory')
    const m = await resolveManifest(openBucket(name, g), key)
    if (m.fileFormat !== 'CSV')
      throw new InvalidArgumentError(`Batch Operations reads CSV inventory reports only; this one is ${m.fileFormat}`, { argument: 'inventory' })
    return { inventoryManifestArn: `arn:aws:s3:::${m.bucket}/${m.key}`, etag: m.etag, sourceBucket: m.sourceBucket }
  }
  const { bucket, key } = parseS3Url(opts.generate!, 'generate')
  return { generator: { sourceBucket: bucket, ...(key ? { filter: { prefixes: [key] } } : {}) } }
}

export function register(program: Command): void {
  const batch = program
    .command('batch')
    .description('S3 Batch Operations: write a manifest, plan a job (freeze, copy, restore, tag, lambda), submit it (--yes), watch it, read its report')
    .addHelpText(
      'after',
      '\nEvery job costs money (a fee per job and per object). Batch Operations cannot delete objects or copy objects over 5 GB;\nfor those, spread bucketflow over Step Functions (bucketflow sfn).',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow batch manifest --from s3://photos/2019/ s3://jobs/freeze-2019.csv\n  bucketflow batch plan --account-id 123456789012 --role-arn arn:aws:iam::123456789012:role/batch --operation freeze --manifest s3://jobs/freeze-2019.csv --report s3://jobs/reports > job.json\n  bucketflow batch submit job.json --yes && bucketflow batch watch JOB_ID --account-id 123456789012',
    )

  batch
    .command('manifest')
    .description('write a Batch Operations CSV manifest (bucket,url-encoded-key; no header) from a listing or an inventory report')
    .argument('<destination>', 's3://bucket/key.csv to write')
    .option('--from <url>', 'list s3://bucket/prefix for the rows')
    .option('--from-inventory <url>', 'take the rows from an inventory report (s3://.../manifest.json, or a prefix: its newest)')
    .option('--prefix <prefix>', 'with --from-inventory: only keys under this prefix')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow batch manifest --from s3://photos/2019/ s3://jobs/freeze-2019.csv\n  bucketflow batch manifest --from-inventory s3://inventory/inv/photos/daily/ --prefix 2019/ s3://jobs/freeze-2019.csv',
    )
    .action(
      act(async (destination: string, opts: { from?: string; fromInventory?: string; prefix?: string }, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(g)
        if ((opts.from === undefined) === (opts.fromInventory === undefined))
          throw new InvalidArgumentError('Give exactly one of --from or --from-inventory', { argument: 'from' })
        const dest = parseS3Url(destination, 'destination')
        let rows: AsyncIterable<BatchManifestRow>
        if (opts.from) {
          const { bucket: name, key: prefix } = parseS3Url(opts.from, 'from')
          const source = openBucket(name, g)
          rows = (async function* () {
            for await (const page of listPages(source, prefix ? { prefix } : {})) for (const o of page.objects) yield { bucket: name, key: o.key }
          })()
        } else {
          const { bucket: name, key } = parseS3Url(opts.fromInventory!, 'from-inventory')
          const inv = openBucket(name, g)
          const m = await resolveManifest(inv, key)
          rows = (async function* () {
            for await (const b of readInventory(inv, m, { columns: ['Key'], ...(opts.prefix ? { prefix: opts.prefix } : {}) })) {
              for (const k of b.getChild('Key')! as Iterable<string>) yield { bucket: m.sourceBucket, key: k }
            }
          })()
        }
        const written = await writeBatchManifest(openBucket(dest.bucket, g), dest.key, rows)
        out.data(`manifest ${destination}: ${written.rows} rows, ETag ${written.etag}`, written)
        return EXIT_OK
      }),
    )

  batch
    .command('plan')
    .description('print a validated CreateJob request (JSON) for one operation; nothing is sent')
    .requiredOption('--account-id <id>', 'the AWS account (12 digits) that owns the job')
    .requiredOption('--role-arn <arn>', 'the IAM role Batch Operations assumes')
    .addOption(new Option('--operation <kind>', 'what to do to each object').choices(['freeze', 'copy', 'restore', 'tag', 'lambda']).makeOptionMandatory())
    .option('--storage-class <class>', 'freeze (default DEEP_ARCHIVE) and copy: the storage class to write')
    .option('--target-bucket <name>', 'copy: the destination bucket')
    .option('--target-prefix <prefix>', 'copy: a key prefix in the destination')
    .option('--days <n>', 'restore: days the restored copy stays (default 5)', positiveInt('days'))
    .addOption(new Option('--tier <tier>', 'restore: BULK (default) or STANDARD').choices(['BULK', 'STANDARD', 'bulk', 'standard']))
    .option('--tag <key=value>', 'tag: a tag to set (repeat for more)', (v: string, all: string[] = []) => [...all, v])
    .option('--function-arn <arn>', 'lambda: the function to invoke per object')
    .option('--manifest <url>', 'objects from a CSV manifest: s3://bucket/key.csv (bucketflow batch manifest)')
    .option('--inventory <url>', 'objects from a CSV inventory report: s3://.../manifest.json, or a prefix (its newest)')
    .option('--generate <url>', 'let S3 list s3://bucket[/prefix] itself (no manifest, no inventory wait)')
    .option('--report <url>', 'completion report to s3://bucket/prefix')
    .option('--no-report', 'no completion report')
    .addOption(new Option('--report-scope <scope>', 'tasks in the report').choices(['all', 'failed']).default('all'))
    .option('--priority <n>', 'higher runs first (default 10)', positiveInt('priority'))
    .option('--token <token>', 'idempotency token, 1-64 characters (default: a random UUID)')
    .option('--description <text>', 'up to 256 characters')
    .option('--confirm', 'the job waits (Suspended) until confirmed in the console or with UpdateJobStatus')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow batch plan --account-id 123456789012 --role-arn arn:aws:iam::123456789012:role/batch \\\n    --operation freeze --storage-class GLACIER --manifest s3://jobs/freeze-2019.csv --report s3://jobs/reports > job.json\n  bucketflow batch plan ... --operation restore --days 7 --generate s3://archive/2019/ --no-report',
    )
    .action(
      act(async (opts: PlanCliOptions, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(g)
        const plan: BatchJobPlanOptions = {
          accountId: opts.accountId,
          roleArn: opts.roleArn,
          operation: operationOf(opts),
          manifest: await manifestOf(opts, g),
          report: false,
          ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
          ...(opts.token !== undefined ? { clientRequestToken: opts.token } : {}),
          ...(opts.description !== undefined ? { description: opts.description } : {}),
          ...(opts.confirm ? { confirmationRequired: true } : {}),
        }
        if (opts.report !== false) {
          if (opts.report === undefined) throw new InvalidArgumentError('Give --report s3://bucket/prefix, or --no-report', { argument: 'report' })
          const r = parseS3Url(opts.report, 'report')
          plan.report = {
            bucket: r.bucket,
            ...(r.key ? { prefix: r.key.replace(/\/$/, '') } : {}),
            scope: opts.reportScope === 'failed' ? 'FailedTasksOnly' : 'AllTasks',
          }
        }
        const input = planBatchJob(plan)
        process.stdout.write(`${JSON.stringify(input, null, 2)}\n`)
        out.summary(`planned a ${opts.operation} job; submit it with: bucketflow batch submit job.json --yes`)
        return EXIT_OK
      }),
    )

  batch
    .command('submit')
    .description('create the job a plan describes (CreateJob). Needs --yes: every job costs money')
    .argument('<plan>', 'the JSON from bucketflow batch plan (a file, or - for stdin)')
    .option('--yes', 'yes, create the job (and pay for it)')
    .option('--control-endpoint <url>', 'an S3 Control-compatible endpoint instead of AWS')
    .addHelpText('after', '\nExamples:\n  bucketflow batch submit job.json --yes\n  bucketflow batch plan ... | bucketflow batch submit - --yes')
    .action(
      act(async (planPath: string, opts: ControlOptions & { yes?: boolean }, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(g)
        if (!opts.yes)
          throw new InvalidArgumentError('Submitting creates an S3 Batch Operations job, which costs money (per job and per object): add --yes to go ahead', {
            argument: 'yes',
          })
        let text: string
        if (planPath === '-') {
          const chunks: Buffer[] = []
          for await (const c of process.stdin) chunks.push(c as Buffer)
          text = Buffer.concat(chunks).toString('utf8')
        } else text = await readFile(planPath, 'utf8')
        let input: unknown
        try {
          input = JSON.parse(text)
        } catch (err) {
          throw new InvalidArgumentError(`The plan is not JSON: ${(err as Error).message}`, { argument: 'plan' })
        }
        const client = await controlClient(g, opts)
        try {
          const { jobId } = await submitBatchJob(client, input as Parameters<typeof submitBatchJob>[1])
          out.data(jobId, { jobId, accountId: (input as { AccountId?: string }).AccountId })
          out.summary(
            `created job ${jobId}; follow it with: bucketflow batch watch ${jobId} --account-id ${(input as { AccountId?: string }).AccountId ?? '...'}`,
          )
        } finally {
          client.destroy()
        }
        return EXIT_OK
      }),
    )

  batch
    .command('watch')
    .description('follow a job until it completes, fails or is cancelled; exit 1 unless it completed without failed tasks')
    .argument('<jobId>', 'the job ID')
    .requiredOption('--account-id <id>', 'the AWS account that owns the job')
    .option('--interval <seconds>', 'seconds between two looks (default 10)', positiveInt('interval'))
    .option('--control-endpoint <url>', 'an S3 Control-compatible endpoint instead of AWS')
    .action(
      act(async (jobId: string, opts: ControlOptions & { accountId: string; interval?: number }, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(g)
        const client = await controlClient(g, opts)
        const controller = new AbortController()
        const stop = () => controller.abort()
        process.once('SIGINT', stop)
        let last
        try {
          for await (const s of watchBatchJob(client, {
            accountId: opts.accountId,
            jobId,
            intervalMs: (opts.interval ?? 10) * 1000,
            signal: controller.signal,
          })) {
            last = s
            const reasons = s.failureReasons.map((f) => ` ${f.code}: ${f.reason}`).join(';')
            out.data(`${new Date().toISOString()}  ${s.status}  ${s.succeeded} succeeded, ${s.failed} failed of ${s.total}${reasons}`, s)
          }
        } finally {
          process.off('SIGINT', stop)
          client.destroy()
        }
        return last?.status === 'Complete' && last.failed === 0 ? EXIT_OK : EXIT_FAILED
      }),
    )

  batch
    .command('report')
    .description("print a job's completion report, task by task (each result file checked against its MD5); exit 1 if any task failed")
    .argument('<url>', 's3://report-bucket/prefix/job-<id>/manifest.json')
    .option('--failed', 'only failed tasks')
    .action(
      act(async (url: string, opts: { failed?: boolean }, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(g)
        const { bucket: name, key } = parseS3Url(url)
        let ok = 0
        let failed = 0
        for await (const t of readCompletionReport(openBucket(name, g), key)) {
          if (t.status === 'succeeded') ok++
          else failed++
          if (opts.failed && t.status === 'succeeded') continue
          out.data(
            `${t.status}  ${t.httpStatusCode ?? ''}  ${t.errorCode ?? ''}  s3://${t.bucket}/${t.key}${t.versionId ? ` (${t.versionId})` : ''}  ${t.resultMessage ?? ''}`,
            t,
          )
        }
        out.summary(`${ok} succeeded, ${failed} failed`)
        return failed > 0 ? EXIT_FAILED : EXIT_OK
      }),
    )
  for (const sub of batch.commands) sub.exitOverride()
}
