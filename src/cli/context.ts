/**
 * One run of the `bucketflow` command: its exit codes, global options, streams, the one
 * AbortSignal every request listens to, and the run in progress.
 */
import type { Readable, Writable } from 'node:stream'
import type cliProgress from 'cli-progress'

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
