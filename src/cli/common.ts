/**
 * Shared pieces of the `bucketflow` command: the run's context (streams, the one AbortSignal,
 * the exit code), S3 URLs, the bucket from global options, output and error rendering.
 */
import type { Readable, Writable } from 'node:stream'
import { Command, InvalidArgumentError as OptionValueError, Option } from 'commander'
import cliProgress from 'cli-progress'
import { Bucket, BucketflowError, type BucketOptions, InvalidArgumentError, InvalidObjectStateError, resolveEndpoint } from '../index.js'

/** Exit codes: 0 all good, 1 some items failed (or nothing found), 2 usage error. */
export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2
/** 128 + the signal's number, as shells report a process ended by it. */
export const EXIT_SIGINT = 130
export const EXIT_SIGTERM = 143

/** Options every subcommand accepts (set on the root command). */
export interface GlobalOptions {
  endpoint?: string
  region?: string
  concurrency?: number
  json?: boolean
  quiet?: boolean
}

/** The streams a run reads and writes, and the signal that stops it. */
export interface CliIo {
  stdout: Writable
  stderr: Writable
  stdin: Readable
  /** Progress bars are drawn only when stderr is a terminal. Default false. */
  stderrIsTTY?: boolean
  /** Aborted on SIGINT/SIGTERM (reason {@link Interrupted}); every request of the run listens to it. */
  signal?: AbortSignal
}

/**
 * Count the signals of a run, treating one that comes within 300 ms of the first as the same
 * Ctrl-C delivered twice (by the terminal and by a wrapper such as npx that forwards it).
 *
 * @example
 * ```ts
 * const signals = signalCounter()
 * process.on('SIGINT', () => { if (signals() === 'again') process.exit(130) })
 * ```
 */
export function signalCounter(): () => 'first' | 'echo' | 'again' {
  let firstAt: number | undefined
  return () => {
    if (firstAt === undefined) {
      firstAt = Date.now()
      return 'first'
    }
    return Date.now() - firstAt <= 300 ? 'echo' : 'again'
  }
}

/** The reason the run's signal carries when the user interrupted it. */
export class Interrupted extends Error {
  constructor(readonly signalName: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signalName}`)
    this.name = 'Interrupted'
  }
  get exitCode(): number {
    return this.signalName === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM
  }
}

/** The reason the run's signal carries when stdout was closed by its reader (EPIPE). */
export class StdoutClosed extends Error {
  constructor() {
    super('stdout was closed')
    this.name = 'StdoutClosed'
  }
}

/** What a command is busy with, for the one line printed when it is interrupted. */
export interface Activity {
  /** e.g. "upload to s3://b/p/" */
  what: string
  /** Items finished so far (ok or failed) and, when known, the total. */
  done: number
  total?: number
  /** What was cleaned up, e.g. "multipart uploads in flight aborted on the server". */
  cleanup?: string
}

/** One run of the command: its streams, the AbortSignal every request listens to, its activity. */
export class CliContext {
  readonly io: CliIo
  readonly controller = new AbortController()
  /** Set by the action: the exit code. */
  exitCode = EXIT_OK
  activity: Activity | undefined
  /** stdout's reader went away (EPIPE): write nothing more there. */
  stdoutClosed = false
  /** SIGINT/SIGTERM is the normal end of this command (serve): exit 0, print nothing. */
  interruptEndsNormally = false
  /** The progress bar being drawn, if any (lines printed meanwhile go above it). */
  bar: cliProgress.SingleBar | undefined

  constructor(io: CliIo) {
    this.io = io
    const outer = io.signal
    if (outer?.aborted) this.controller.abort(outer.reason)
    else outer?.addEventListener('abort', () => this.controller.abort(outer.reason), { once: true })
    io.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') this.closeStdout()
    })
  }

  /** The one signal of the run. */
  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** stdout's reader is gone: stop everything quietly. */
  closeStdout(): void {
    this.stdoutClosed = true
    if (!this.controller.signal.aborted) this.controller.abort(new StdoutClosed())
  }
}

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
    .addOption(new Option('-c, --concurrency <n>', 'requests in flight for parallel work (default 8)').argParser(positiveInt('concurrency')))
    .option('--json', 'print machine-readable JSON (one object per line), errors included')
    .option('-q, --quiet', 'print only errors and warnings: no progress bars, no per-item lines, no summary')
}

/** Where output goes: stdout for data, stderr for progress, warnings, errors and summaries. */
export class Output {
  readonly ctx: CliContext
  readonly opts: GlobalOptions
  /** `new Output(ctx, opts)`, or `new Output(opts)` for the current run's context. */
  constructor(ctx: CliContext | GlobalOptions, opts?: GlobalOptions) {
    if (ctx instanceof CliContext) {
      this.ctx = ctx
      this.opts = opts ?? {}
    } else {
      this.ctx = currentContext()
      this.opts = ctx
    }
  }

  #write(stream: Writable, text: string): void {
    if (stream === this.ctx.io.stdout && this.ctx.stdoutClosed) return
    const bar = this.ctx.bar
    if (!bar) return void stream.write(text)
    // A line while a progress bar is drawn (both usually on one terminal): clear the bar's
    // line, print, draw the bar again below.
    this.ctx.io.stderr.write('\r\x1b[2K')
    stream.write(text)
    // The bar restores the cursor position saved when it started once it stops: save the new one.
    this.ctx.io.stderr.write('\x1b7')
    bar.render()
  }

  /** Print a data line (or a JSON object with --json) on stdout. */
  data(human: string, json: unknown): void {
    this.#write(this.ctx.io.stdout, `${this.opts.json ? JSON.stringify(json) : human}\n`)
  }
  /** A per-item line: like {@link data}, but not with --quiet. */
  item(human: string, json: unknown): void {
    if (!this.opts.quiet) this.data(human, json)
  }
  /** A warning on stderr (also with --quiet); with --json a `{ warning }` object on stdout. */
  warn(message: string, json: Record<string, unknown> = {}): void {
    if (this.opts.json) this.data('', { warning: message, ...json })
    else this.#write(this.ctx.io.stderr, `warning: ${message}\n`)
  }
  /** An error line on stderr; with --json an `{ ok: false, error }` object on stdout. */
  error(human: string, json: unknown): void {
    if (this.opts.json) this.data('', json)
    else this.#write(this.ctx.io.stderr, `${human}\n`)
  }
  /** A summary line on stderr (not with --quiet). */
  summary(line: string): void {
    if (!this.opts.quiet && !this.ctx.stdoutClosed) this.#write(this.ctx.io.stderr, `${line}\n`)
  }
  /** A progress bar on stderr, only on a TTY and without --quiet or --json. */
  progress(total: number, unit = 'objects'): Progress {
    if (this.opts.quiet || this.opts.json || !this.ctx.io.stderrIsTTY) return new Progress(undefined)
    const bar = new cliProgress.SingleBar(
      {
        format: `{bar} {percentage}% | {value}/{total} ${unit} | {bytes} | {rate} | ETA {eta_formatted}`,
        stream: this.ctx.io.stderr as NodeJS.WritableStream,
        hideCursor: true,
        etaBuffer: 50,
        // Lines printed meanwhile clear the bar's line: it must be drawn again even if unchanged.
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    )
    bar.start(total, 0, { bytes: '0 B', rate: '' })
    this.ctx.bar = bar
    return new Progress(bar, () => {
      if (this.ctx.bar === bar) this.ctx.bar = undefined
    })
  }
}

/** A progress bar that may be absent (not a TTY, --quiet). */
export class Progress {
  #bytes = 0
  #count = 0
  readonly #started = Date.now()
  constructor(
    private readonly bar: cliProgress.SingleBar | undefined,
    private readonly onStop: () => void = () => undefined,
  ) {}
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
    this.onStop()
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

let current: CliContext | undefined

/** The context of the run in progress (set by `run`). */
export function currentContext(): CliContext {
  current ??= new CliContext({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, stderrIsTTY: process.stderr.isTTY === true })
  return current
}

/** Make `ctx` the current run's context. */
export function setCurrentContext(ctx: CliContext | undefined): void {
  current = ctx
}
