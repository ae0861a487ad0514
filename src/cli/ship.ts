/**
 * `bucketflow ship s3://bucket/prefix/`: read log lines from stdin and store them as rotating
 * objects (compressed, time-partitioned, or Parquet), through a disk spool with `--spool` so a
 * crash loses nothing. SIGINT/SIGTERM: stop reading, store what was read, exit 0 (a second
 * signal stops at once: exit 130/143; with a spool, what was not stored stays in it).
 */
import { fstatSync, read } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import type { Command } from 'commander'
import { InvalidArgumentError as OptionValueError } from 'commander'
import { AbortError, InvalidArgumentError, type LogStreamOptions, type LogStreamResult, SpoolLockedError } from '../index.js'
import { act, count, currentContext, EXIT_FAILED, signalCounter, EXIT_OK, formatBytes, globals, openBucket, Output, parseS3Url, positiveInt } from './common.js'

const MiB = 1024 * 1024

/** `64MiB`, `1GiB`, `500k`, `1000` -> bytes. */
export function parseByteSize(name: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?$/i.exec(value.trim())
    const unit = (m?.[2] ?? 'b').toLowerCase()
    const scale = unit.startsWith('t') ? 1024 ** 4 : unit.startsWith('g') ? 1024 ** 3 : unit.startsWith('m') ? MiB : unit.startsWith('k') ? 1024 : 1
    const n = m ? Math.round(Number(m[1]) * scale) : NaN
    if (!Number.isSafeInteger(n) || n < 1)
      throw new OptionValueError(`Expected ${name} to be a size such as 64MiB, 1GiB or 1000000, got ${JSON.stringify(value)}`)
    return n
  }
}

function choice<T extends string>(name: string, values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value))
      throw new OptionValueError(`Expected ${name} to be one of ${values.join(', ')}, got ${JSON.stringify(value)}`)
    return value as T
  }
}

interface ShipOptions {
  rotateMs: number
  rotateBytes?: number
  gzip?: boolean
  zstd?: boolean
  level?: number
  key?: string
  spool?: string
  fsync?: 'always' | 'interval' | 'never'
  maxSpoolBytes?: number
  whenFull?: 'block' | 'drop-newest'
  parquet?: boolean
  schema?: string
  errorPrefix?: string
  maxLineBytes?: number
}

/** The longest partial line the command holds before handing it on as it is. */
const MAX_HELD_LINE = MiB

/**
 * A regular file on standard input (`ship < app.log`), read 1 MiB at a time from its current
 * offset, where Node's own stdin stream reads 64 KiB into a fresh buffer each time: about half the
 * CPU (0.55 s against 1.0 s for 512 MiB, measured). One read at a time, and only when the reader
 * wants more (no read-ahead): after {@link FileInput.stop} the read in flight is delivered and the
 * stream ends, so every byte taken from the file is handed on, and the file's offset is where the
 * next reader of it starts.
 */
class FileInput extends Readable {
  #stopped = false

  constructor() {
    super({ highWaterMark: 0 })
  }

  /** Read no more: what a read in flight brings is still delivered, then the stream ends. */
  stop(): void {
    this.#stopped = true
  }

  override _read(): void {
    if (this.#stopped) {
      this.push(null)
      return
    }
    const buffer = Buffer.allocUnsafe(MiB)
    read(0, buffer, 0, MiB, null, (err, n) => {
      if (err) this.destroy(err)
      else this.push(n === 0 ? null : buffer.subarray(0, n))
    })
  }
}

/** Standard input: a {@link FileInput} for a regular file, else Node's stream (a pipe, a terminal). A folder is refused (Node would read it as empty). */
function input(): FileInput | typeof process.stdin {
  let kind: 'file' | 'folder' | 'other' = 'other'
  try {
    const info = fstatSync(0)
    kind = info.isFile() ? 'file' : info.isDirectory() ? 'folder' : 'other'
  } catch {
    // no standard input to look at: Node's stream reports it
  }
  if (kind === 'folder') throw new InvalidArgumentError('Standard input is a folder; ship reads lines from a file or a pipe', { argument: 'stdin' })
  return kind === 'file' ? new FileInput() : process.stdin
}

export function register(program: Command): void {
  program
    .command('ship')
    .description(
      'read log lines from stdin into rotating S3 objects: compressed, time-partitioned, or Parquet; with --spool nothing is lost if the process dies (a restart finishes what was left)',
    )
    .argument('<url>', 's3://bucket/prefix/ under which the objects go')
    .option('--rotate-ms <ms>', 'start a new object after this many milliseconds', positiveInt('--rotate-ms'), 60_000)
    .option('--rotate-bytes <size>', 'start a new object after this many bytes of lines (e.g. 64MiB)', parseByteSize('--rotate-bytes'))
    .option('--gzip', 'gzip each object (.gz, Content-Encoding: gzip)')
    .option('--zstd', 'zstd-compress each object (.zst, Content-Encoding: zstd)')
    .option('--level <n>', 'compression level (gzip 1-9, default 1; zstd 1-19, default 3)', positiveInt('--level'))
    .option('--key <template>', 'key after the prefix, in UTC: {yyyy} {MM} {dd} {HH} {mm} {ss} {ts} {seq}; default {ts}-{seq}.log')
    .option('--spool <dir>', 'keep every line in this folder until it is stored; a restart with the same folder finishes what was left')
    .option('--fsync <policy>', 'with --spool: always, interval (every second; default) or never', choice('--fsync', ['always', 'interval', 'never'] as const))
    .option('--max-spool-bytes <size>', 'with --spool: the most the folder holds (default 1GiB)', parseByteSize('--max-spool-bytes'))
    .option(
      '--when-full <what>',
      'with --spool: block (default; stop reading stdin) or drop-newest (drop lines and count them)',
      choice('--when-full', ['block', 'drop-newest'] as const),
    )
    .option('--parquet', 'lines are NDJSON records: store one Parquet object per rotation')
    .option('--schema <file>', 'with --parquet: the schema as JSON ({"field": "type", ...}); default: inferred from the first records')
    .option('--error-prefix <prefix>', 'with --parquet: where lines that are not records go (default <prefix>_errors/)')
    .option('--max-line-bytes <size>', 'longest partial line held before it is streamed (default 1MiB)', parseByteSize('--max-line-bytes'))
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  myapp | bucketflow ship s3://logs/myapp/ --gzip --key "dt={yyyy}-{MM}-{dd}/{HH}/{ts}-{seq}.log" --spool /var/spool/myapp',
        '  myapp --json-logs | bucketflow ship s3://lake/events/ --parquet --rotate-ms 300000',
        '',
        'Prints a summary on stderr (objects, lines, bytes, drops); --json prints it as JSON on stdout.',
        'SIGINT/SIGTERM: stop reading, store what was read, exit 0; a second signal stops at once.',
      ].join('\n'),
    )
    .action(
      act(async (url: string, opts: ShipOptions, cmd: Command) => {
        // A signal is how shipping ends: this command stores what was read and reports it.
        currentContext().interruptEndsNormally = true
        const g = globals(cmd)
        const out = new Output(g)
        const { bucket: name, key: given } = parseS3Url(url)
        // The URL names a folder of log objects, as with aws s3: a final '/' is implied.
        const prefix = given === '' || given.endsWith('/') ? given : `${given}/`
        if (opts.gzip && opts.zstd) throw new InvalidArgumentError('Pass either --gzip or --zstd', { argument: 'compression' })
        if (opts.schema !== undefined && !opts.parquet) throw new InvalidArgumentError('--schema needs --parquet', { argument: 'schema' })
        if (opts.errorPrefix !== undefined && !opts.parquet) throw new InvalidArgumentError('--error-prefix needs --parquet', { argument: 'errorPrefix' })
        if (opts.level !== undefined && !opts.gzip && !opts.zstd)
          throw new InvalidArgumentError('--level needs --gzip or --zstd', { argument: 'compressionLevel' })
        const options: LogStreamOptions = { rotateMs: opts.rotateMs }
        if (opts.rotateBytes !== undefined) options.rotateBytes = opts.rotateBytes
        if (opts.gzip) options.compression = 'gzip'
        if (opts.zstd) options.compression = 'zstd'
        if (opts.level !== undefined) options.compressionLevel = opts.level
        if (opts.key !== undefined) options.key = opts.key
        if (opts.maxLineBytes !== undefined) options.maxLineBytes = opts.maxLineBytes
        if (opts.spool !== undefined) options.spool = opts.spool
        if (opts.fsync !== undefined) options.fsync = opts.fsync
        if (opts.maxSpoolBytes !== undefined) options.maxSpoolBytes = opts.maxSpoolBytes
        if (opts.whenFull !== undefined) options.whenFull = opts.whenFull
        if (opts.parquet) {
          let schema
          if (opts.schema !== undefined) {
            let text: string
            try {
              text = await readFile(opts.schema, 'utf8')
            } catch (err) {
              throw new InvalidArgumentError(`Cannot read --schema ${opts.schema}: ${(err as Error).message}`, { argument: 'schema' })
            }
            let json: unknown
            try {
              json = JSON.parse(text)
            } catch (err) {
              throw new InvalidArgumentError(`--schema ${opts.schema} is not JSON: ${(err as Error).message}`, { argument: 'schema' })
            }
            // apache-arrow loads here, only for `ship --parquet --schema`.
            const { schemaFromJson } = await import('../arrow/index.js')
            schema = schemaFromJson(json)
          }
          options.format = { parquet: schema ? { schema } : {} }
          if (opts.errorPrefix !== undefined) options.errorPrefix = opts.errorPrefix
        }
        if (process.stdin.isTTY && !g.quiet) process.stderr.write('ship: reading lines from the terminal; end with Ctrl-D\n')
        const stdin = input()

        const bucket = openBucket(name, g)
        const log = bucket.createLogStream(prefix, options)
        log.on('error', () => undefined) // reported through log.done
        log.on('retry', (r: { key: string; attempt: number; error: Error; delayMs: number }) => {
          process.stderr.write(`ship: storing ${r.key} failed (${r.error.message}); trying again in ${(r.delayMs / 1000).toFixed(1)} s\n`)
        })
        let dropWarned = false
        log.on('drop', () => {
          if (dropWarned) return
          dropWarned = true
          process.stderr.write(`ship: the spool is full (--max-spool-bytes); dropping lines (counted in the summary)\n`)
        })

        // Whole lines only go to the log stream, so a crash can only lose lines not yet read.
        let held: Buffer[] = []
        let heldBytes = 0
        let interrupted: NodeJS.Signals | undefined
        let stopReading: () => void = () => undefined
        const reading = new Promise<void>((resolve, reject) => {
          const onData = (chunk: Buffer) => {
            const nl = chunk.lastIndexOf(0x0a)
            let ok: boolean
            if (nl < 0) {
              held.push(chunk)
              heldBytes += chunk.length
              if (heldBytes <= MAX_HELD_LINE) return
              ok = log.write(Buffer.concat(held)) // an overlong line: hand it on as it comes
              held = []
              heldBytes = 0
            } else {
              if (heldBytes > 0) {
                // The held start of a line and its end: one small copy. The whole lines after it
                // go on as they came (copying every chunk whole cost a tenth of the CPU).
                const first = chunk.indexOf(0x0a)
                ok = log.write(Buffer.concat([...held, chunk.subarray(0, first + 1)]))
                if (first < nl) ok = log.write(chunk.subarray(first + 1, nl + 1)) && ok
              } else ok = log.write(chunk.subarray(0, nl + 1))
              held = nl + 1 < chunk.length ? [chunk.subarray(nl + 1)] : []
              heldBytes = chunk.length - nl - 1
            }
            if (!ok && !interrupted) {
              stdin.pause()
              log.once('drain', () => {
                if (!interrupted) stdin.resume()
              })
            }
          }
          const finish = () => {
            stdin.off('data', onData)
            resolve()
          }
          stopReading = () => {
            if (stdin instanceof FileInput) {
              // The read in flight and what is buffered are handed on; then 'end' comes.
              stdin.stop()
              stdin.resume()
              return
            }
            stdin.pause()
            finish()
          }
          stdin.on('data', onData)
          stdin.once('end', finish)
          stdin.once('error', (err) => {
            stdin.off('data', onData)
            reject(err)
          })
        })
        const signals = signalCounter()
        const onSignal = (signal: NodeJS.Signals) => {
          const seen = signals()
          if (seen === 'echo') return
          interrupted ??= signal
          if (seen === 'first') {
            if (!g.quiet) process.stderr.write(`ship: ${signal}: storing what was read, then exiting (${signal} again to stop at once)\n`)
            stopReading()
          } else {
            log.destroy(new AbortError(`Stopped by ${signal}`))
          }
        }
        process.on('SIGINT', onSignal)
        process.on('SIGTERM', onSignal)
        try {
          try {
            await reading
          } catch (err) {
            log.destroy(err as Error)
          }
          if (heldBytes > 0 && !log.destroyed) log.write(Buffer.concat(held))
          log.end()
          let result: LogStreamResult
          try {
            result = await log.done
          } catch (err) {
            // The spool could not be opened (not a folder, in use, another destination): nothing is in it.
            if (err instanceof InvalidArgumentError || err instanceof SpoolLockedError) throw err
            const left = opts.spool !== undefined ? `; what was not stored stays in ${opts.spool}: run again with --spool ${opts.spool} to finish it` : ''
            if (err instanceof AbortError && interrupted) {
              process.stderr.write(`ship: stopped by ${interrupted}${left}\n`)
              return interrupted === 'SIGINT' ? 130 : 143
            }
            process.stderr.write(`ship: ${(err as Error).message}${left}\n`)
            return EXIT_FAILED
          }
          const summary = {
            objects: result.objects,
            size: result.size,
            lines: result.lines,
            bytes: result.bytes,
            errorLines: result.errorLines,
            dropped: result.dropped,
            recovered: result.recovered,
            firstKey: result.firstKey ?? null,
            lastKey: result.lastKey ?? null,
            ...(interrupted ? { interrupted } : {}),
          }
          if (g.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
          else {
            const parts = [
              `${count(result.objects, 'object')} (${formatBytes(result.size)} stored)`,
              `${count(result.lines, 'line')} (${formatBytes(result.bytes)})`,
              `${count(result.dropped.lines, 'line')} dropped`,
            ]
            if (result.errorLines > 0) parts.push(`${count(result.errorLines, 'line')} not records (in error objects)`)
            if (result.recovered > 0) parts.push(`${result.recovered} finished from the spool of an earlier run`)
            out.summary(`ship: ${parts.join(', ')}`)
          }
          return EXIT_OK
        } finally {
          process.off('SIGINT', onSignal)
          process.off('SIGTERM', onSignal)
        }
      }),
    )
}
