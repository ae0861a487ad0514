/**
 * Shared pieces of the `bucketflow` command: S3 URLs, the bucket from global options, error
 * rendering and the action wrapper; with the run's context (context.ts) and output (output.ts),
 * re-exported here so that a subcommand imports one module.
 */
import { type Command, InvalidArgumentError as OptionValueError, Option } from 'commander'
import { Bucket, BucketflowError, type BucketOptions, InvalidArgumentError, InvalidObjectStateError, resolveEndpoint } from '../index.js'
import { CliContext, currentContext, EXIT_FAILED, EXIT_OK, EXIT_USAGE, Interrupted, StdoutClosed, type GlobalOptions } from './context.js'
import { Output } from './output.js'

export * from './context.js'
export * from './output.js'

/** A parsed `s3://bucket/key-or-prefix` URL. */
export interface S3Url {
  bucket: string
  key: string
}

/** Parse `s3://bucket/prefix`. Throws InvalidArgumentError naming the bad value. */
export function parseS3Url(value: string, argument = 'url'): S3Url {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/s.exec(value)
  if (!m) throw new InvalidArgumentError(`Expected ${argument} to be an s3://bucket/key URL, got ${JSON.stringify(value)}`, { argument })
  return { bucket: m[1]!, key: m[2] ?? '' }
}

/** True for an s3:// URL. */
export function isS3Url(value: string): boolean {
  return value.startsWith('s3://')
}

/** `s3://bucket/key` */
export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`
}

/** The root command's options, from any subcommand. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>()
}

/** Throws InvalidArgumentError unless `value` is an http(s) URL. */
export function checkEndpoint(value: string, argument = 'endpoint'): void {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new InvalidArgumentError(`Expected ${argument} to be an http:// or https:// URL, got ${JSON.stringify(value)}`, { argument })
  }
}

/** A Bucket for `name` configured from the global options and the AWS environment. */
export function openBucket(name: string, opts: GlobalOptions): Bucket {
  const options: BucketOptions = {}
  if (opts.endpoint) options.endpoint = opts.endpoint
  const endpoint = resolveEndpoint(options)
  if (endpoint !== undefined) checkEndpoint(endpoint, opts.endpoint ? 'endpoint' : 'AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL')
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
    .addOption(
      new Option('--endpoint <url>', 'S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS)').argParser((v) => {
        try {
          checkEndpoint(v)
        } catch (err) {
          throw new OptionValueError((err as Error).message)
        }
        return v
      }),
    )
    .addOption(new Option('--region <region>', 'region (default: AWS_REGION or us-east-1)'))
    .addOption(
      new Option('-c, --concurrency <n>', 'requests in flight for parallel work (default 8; the bench commands: 16)').argParser(positiveInt('concurrency')),
    )
    .option('--json', 'print machine-readable JSON (one object per line), errors included')
    .option('-q, --quiet', 'print only errors and warnings: no progress bars, no per-item lines, no summary')
}

/**
 * The S3 error code of an error: its own `code`, or, for an error the library mapped by HTTP
 * status alone, the code the server sent (kept in `cause`).
 */
export function s3Code(err: BucketflowError): string {
  const cause = err.cause as { Code?: string; name?: string } | undefined
  const sent = cause?.Code ?? (cause?.name && cause.name !== 'Error' ? cause.name : undefined)
  // A 403 is reported as AccessDenied unless the server named another code (InvalidObjectState).
  if (err.code === 'AccessDenied' && sent && sent !== 'AccessDenied' && sent !== 'Forbidden') return sent
  return err.code
}

/** The JSON form of an error: name, code, message and the fields that locate it. */
export function errorJson(err: unknown): Record<string, unknown> {
  if (err instanceof BucketflowError) {
    const out: Record<string, unknown> = { name: err.name, code: s3Code(err), message: describeError(err) }
    for (const field of ['bucket', 'key', 'statusCode', 'requestId', 'argument'] as const) {
      const v = (err as unknown as Record<string, unknown>)[field]
      if (v !== undefined) out[field] = v
    }
    return out
  }
  const e = err as { name?: string; code?: string; message?: string }
  return { name: e?.name ?? 'Error', code: e?.code ?? 'Error', message: e?.message ?? String(err) }
}

/** An error's message, with advice where the S3 code calls for it. */
export function describeError(err: BucketflowError): string {
  const code = s3Code(err)
  if (code === 'InvalidObjectState') {
    const where = err.bucket && err.key ? `s3://${err.bucket}/${err.key}` : 'the object'
    if (err instanceof InvalidObjectStateError ? !err.archived : /restore/i.test(err.message)) {
      return `${where} is not archived (InvalidObjectState): only GLACIER and DEEP_ARCHIVE objects can be restored`
    }
    return `${where} is archived (InvalidObjectState): its bytes cannot be read until it is restored; run \`bucketflow restore ${where}\` and try again once the restore has finished`
  }
  if (code === 'BucketNotEmpty') return `${err.message}; \`bucketflow rb --force s3://${err.bucket ?? 'bucket'}\` deletes its objects first`
  return err.message
}

/** Whether `err` is a usage error (exit 2). */
export function isUsageError(err: unknown): boolean {
  return err instanceof InvalidArgumentError && err.code === 'InvalidArgument'
}

/** Render an error (one line on stderr, or JSON on stdout) and return its exit code. */
export function reportError(ctx: CliContext, opts: GlobalOptions, err: unknown): number {
  const out = new Output(ctx, opts)
  const usage = isUsageError(err)
  let human: string
  if (usage) human = `usage error: ${(err as Error).message}`
  else if (err instanceof BucketflowError) human = `error (${s3Code(err)}): ${describeError(err)}`
  else human = `error: ${err instanceof Error ? err.message : String(err)}`
  out.error(human, { ok: false, error: errorJson(err) })
  return usage ? EXIT_USAGE : EXIT_FAILED
}

/** True when the run was stopped by a signal or a closed stdout. */
export function stopReason(ctx: CliContext): Interrupted | StdoutClosed | undefined {
  const reason: unknown = ctx.signal.aborted ? ctx.signal.reason : undefined
  return reason instanceof Interrupted || reason instanceof StdoutClosed ? reason : undefined
}

/** The one line printed when a run is interrupted, and its exit code. */
export function reportInterrupted(ctx: CliContext, opts: GlobalOptions, reason: Interrupted): number {
  const a = ctx.activity
  let line = `interrupted by ${reason.signalName}`
  if (a) {
    line += `: ${a.what} stopped, ${a.done}${a.total !== undefined ? ` of ${a.total}` : ''} done`
    if (a.cleanup) line += `; ${a.cleanup}`
  }
  const out = new Output(ctx, { ...opts, quiet: false })
  out.error(line, { ok: false, interrupted: reason.signalName, ...(a ? { activity: a } : {}) })
  return reason.exitCode
}

/**
 * Wrap a subcommand's action: its result is the exit code; an error prints one line (or JSON)
 * and maps to 1 or 2; an interrupted run prints what was stopped and exits 130/143; a closed
 * stdout ends quietly with 0. `act(ctx, fn)`, or `act(fn)` for the current run's context.
 */
export function act<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void>
export function act<A extends unknown[]>(ctx: CliContext, fn: (...args: A) => Promise<number>): (...args: A) => Promise<void>
export function act<A extends unknown[]>(
  ctxOrFn: CliContext | ((...args: A) => Promise<number>),
  maybeFn?: (...args: A) => Promise<number>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const ctx = ctxOrFn instanceof CliContext ? ctxOrFn : currentContext()
    const fn = ctxOrFn instanceof CliContext ? maybeFn! : ctxOrFn
    const cmd = args.at(-1) as Command
    const opts = globals(cmd)
    let code: number
    try {
      code = await fn(...args)
    } catch (err) {
      if (!stopReason(ctx) && (err as NodeJS.ErrnoException)?.code === 'EPIPE') ctx.closeStdout()
      code = stopReason(ctx) ? EXIT_OK : reportError(ctx, opts, err)
    }
    const stopped = stopReason(ctx)
    if (stopped instanceof Interrupted) code = ctx.interruptEndsNormally ? code : reportInterrupted(ctx, opts, stopped)
    else if (stopped instanceof StdoutClosed) code = EXIT_OK
    ctx.exitCode = code
  }
}
