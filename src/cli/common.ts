/** Shared pieces of the `bucketflow` command: S3 URLs, the bucket from global options, output. */
import { Command, InvalidArgumentError as OptionValueError, Option } from 'commander'
import cliProgress from 'cli-progress'
import { Bucket, type BucketOptions } from '../bucket.js'
import { BucketflowError, InvalidArgumentError } from '../errors.js'
import type { Result } from '../results.js'

/** Exit codes: 0 all good, 1 some items failed, 2 usage error. */
export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

/** Options every subcommand accepts (set on the root command). */
export interface GlobalOptions {
  endpoint?: string
  region?: string
  concurrency?: number
  json?: boolean
  quiet?: boolean
}

/** A parsed `s3://bucket/key-or-prefix` URL. */
export interface S3Url {
  bucket: string
  key: string
}

/** Parse `s3://bucket/prefix`. Throws InvalidArgumentError naming the bad value. */
export function parseS3Url(value: string, argument = 'url'): S3Url {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(value)
  if (!m) throw new InvalidArgumentError(`Expected ${argument} to be an s3://bucket/key URL, got ${JSON.stringify(value)}`, { argument })
  return { bucket: m[1]!, key: m[2] ?? '' }
}

/** True for an s3:// URL. */
export function isS3Url(value: string): boolean {
  return value.startsWith('s3://')
}

/** The root command's options, from any subcommand. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>()
}

/** A Bucket for `name` configured from the global options and the AWS environment. */
export function openBucket(name: string, opts: GlobalOptions): Bucket {
  const options: BucketOptions = {}
  if (opts.endpoint) options.endpoint = opts.endpoint
  if (opts.region) options.region = opts.region
  if (opts.concurrency !== undefined) options.concurrency = opts.concurrency
  return new Bucket(name, options)
}

/** Parse a positive integer option value. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 1) throw new OptionValueError(`Expected ${name} to be an integer >= 1, got ${JSON.stringify(value)}`)
    return n
  }
}

/** Add the global options to the root command. */
export function addGlobalOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--endpoint <url>', 'S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS)'))
    .addOption(new Option('--region <region>', 'region (default: AWS_REGION or us-east-1)'))
    .addOption(new Option('-c, --concurrency <n>', 'requests in flight for parallel work (default 8)').argParser(positiveInt('concurrency')))
    .option('--json', 'print machine-readable JSON (one object per line for streams)')
    .option('-q, --quiet', 'no progress bars or summary')
}

/** Where human output goes: stdout for data, stderr for progress and summaries. */
export class Output {
  constructor(readonly opts: GlobalOptions) {}
  /** Print a data line (or a JSON object with --json). */
  data(human: string, json: unknown): void {
    process.stdout.write(`${this.opts.json ? JSON.stringify(json) : human}\n`)
  }
  /** A summary line on stderr (not with --quiet). */
  summary(line: string): void {
    if (!this.opts.quiet) process.stderr.write(`${line}\n`)
  }
  /** A progress bar on stderr, only on a TTY and without --quiet. */
  progress(total: number, unit = 'objects'): Progress {
    if (this.opts.quiet || !process.stderr.isTTY) return new Progress(undefined)
    const bar = new cliProgress.SingleBar(
      {
        format: `{bar} {percentage}% | {value}/{total} ${unit} | {bytes} | {rate} | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    )
    bar.start(total, 0, { bytes: '0 B', rate: '' })
    return new Progress(bar)
  }
}

/** A progress bar that may be absent (not a TTY, --quiet). */
export class Progress {
  #bytes = 0
  #count = 0
  readonly #started = Date.now()
  constructor(private readonly bar: cliProgress.SingleBar | undefined) {}
  tick(bytes = 0): void {
    this.#bytes += bytes
    this.#count++
    if (!this.bar) return
    const secs = Math.max((Date.now() - this.#started) / 1000, 0.001)
    this.bar.update(this.#count, { bytes: formatBytes(this.#bytes), rate: `${formatBytes(this.#bytes / secs)}/s ${(this.#count / secs).toFixed(0)}/s` })
  }
  setTotal(total: number): void {
    this.bar?.setTotal(total)
  }
  /** Set the count directly (for work counted elsewhere), with `keys` shown as the rate's base. */
  update(value: number, keys: number): void {
    if (!this.bar) return
    const secs = Math.max((Date.now() - this.#started) / 1000, 0.001)
    this.bar.update(value, { bytes: `${keys} keys`, rate: `${(keys / secs).toFixed(0)} keys/s` })
  }
  stop(): void {
    this.bar?.stop()
  }
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`
}

/** Print per-item results (failures always, successes unless quiet) and return the exit code. */
export function reportResults<T>(out: Output, results: Result<T>[], verb: string, describe: (value: T) => string = () => ''): number {
  let failed = 0
  for (const r of results) {
    if (r.ok) {
      out.data(`${verb} ${r.key}${describe(r.value) ? ` ${describe(r.value)}` : ''}`, { ok: true, key: r.key, value: r.value })
    } else {
      failed++
      if (out.opts.json) out.data('', { ok: false, key: r.key, error: { name: r.error.name, code: r.error.code, message: r.error.message } })
      else process.stderr.write(`error: ${r.key}: ${r.error.message}\n`)
    }
  }
  out.summary(`${verb}: ${results.length - failed} ok, ${failed} failed`)
  return failed > 0 ? EXIT_FAILED : EXIT_OK
}

/** Turn an error into a one-line message on stderr and an exit code. */
export function reportError(err: unknown): number {
  if (err instanceof InvalidArgumentError) {
    process.stderr.write(`usage error: ${err.message}\n`)
    return EXIT_USAGE
  }
  if (err instanceof BucketflowError) {
    process.stderr.write(`error (${err.code}): ${err.message}\n`)
    return EXIT_FAILED
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`)
  return EXIT_FAILED
}

/** Wrap a subcommand's action: its result is the exit code; errors print one line and map to 1 or 2. */
export function act<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await fn(...args)
    } catch (err) {
      process.exitCode = reportError(err)
    }
  }
}
