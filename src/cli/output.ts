/**
 * The command's output: data lines on stdout, progress bars, warnings, errors and summaries on
 * stderr, and JSON forms of each with --json.
 */
import type { Writable } from 'node:stream'
import cliProgress from 'cli-progress'
import { CliContext, currentContext, type GlobalOptions } from './context.js'

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

/** `count(1, 'object')` -> "1 object", `count(2, 'object')` -> "2 objects", `count(2, 'prefix', 'prefixes')` -> "2 prefixes". */
export function count(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`
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
