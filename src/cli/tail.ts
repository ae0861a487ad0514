/**
 * `bucketflow tail`: print an object's new bytes as it grows, or follow a rotating log prefix.
 * gzip and zstd objects are printed decompressed (`--raw` prints the stored bytes). A closed
 * stdout (`| head`) ends the command quietly.
 */
import type { Command } from 'commander'
import { InvalidArgumentError as OptionValueError } from 'commander'
import { isTailMarker, readObjectText } from '../index.js'
import { act, EXIT_OK, globals, openBucket, parseS3Url, positiveInt, type CliContext } from './common.js'

function from(value: string): 'start' | 'end' | number {
  if (value === 'start' || value === 'end') return value
  const n = Number(value)
  if (!Number.isSafeInteger(n)) throw new OptionValueError(`Expected --from to be start, end or a byte offset, got ${JSON.stringify(value)}`)
  return n
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('tail')
    .description(
      "print an object's bytes as it grows (like tail -f), or, for a prefix ending in /, each new object of a rotating log in key order; gzip and zstd objects are decompressed",
    )
    .argument('<url>', 's3://bucket/key, or s3://bucket/prefix/ to follow rotating log objects')
    .option('-f, --follow', 'keep following (default: print what is there and stop)')
    .option('--from <where>', 'start, end, or a byte offset (negative: from the end); default: start without -f, end with -f', from)
    .option('--poll <ms>', 'milliseconds between polls', positiveInt('poll'), 1000)
    .option('--permit-missing', 'wait for the object to appear')
    .option('--raw', 'print compressed objects as they are stored')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow tail -f s3://logs/app.log\n  bucketflow tail -f --from start s3://logs/shipper/\n  bucketflow tail --from -4096 s3://logs/app.log',
    )
    .action(
      act(
        ctx,
        async (
          url: string,
          opts: { follow?: boolean; from?: 'start' | 'end' | number; poll: number; permitMissing?: boolean; raw?: boolean },
          cmd: Command,
        ) => {
          const g = globals(cmd)
          const { bucket: name, key } = parseS3Url(url)
          const bucket = openBucket(name, g)
          const rotation = key === '' || key.endsWith('/')
          const { stdout, stderr } = ctx.io
          const signal = ctx.signal
          const decompress = !opts.raw
          /** Write with backpressure; false once stdout's reader is gone. */
          const write = async (chunk: Buffer): Promise<boolean> => {
            if (ctx.stdoutClosed) return false
            if (!stdout.write(chunk))
              await new Promise<void>((resolve) => {
                const done = () => {
                  stdout.off('drain', done)
                  signal.removeEventListener('abort', done)
                  resolve()
                }
                stdout.once('drain', done)
                signal.addEventListener('abort', done, { once: true })
              })
            return !ctx.stdoutClosed
          }
          if (!opts.follow) {
            // One pass: print what is there now.
            const keys = rotation ? await bucket.list(key, { signal }).toArray() : [key]
            const start = !rotation && typeof opts.from === 'number' ? opts.from : 0
            for (const k of keys) {
              for await (const chunk of readObjectText(bucket, k, { start, decompress, signal })) {
                if (!(await write(chunk))) return EXIT_OK
              }
            }
            return EXIT_OK
          }
          const t = bucket.tail(key, {
            follow: rotation ? 'rotation' : 'object',
            from: opts.from ?? 'end',
            pollMs: opts.poll,
            signal,
            permitMissing: opts.permitMissing ?? false,
            markers: true,
            decompress,
          })
          for await (const chunk of t) {
            if (isTailMarker(chunk)) {
              if (chunk.marker === 'reset') stderr.write(`tail: ${chunk.key} was ${chunk.reason}; reading it again from byte 0\n`)
              else if (!g.quiet) stderr.write(`==> ${chunk.key} <==\n`)
              continue
            }
            if (!(await write(chunk))) break
          }
          return EXIT_OK
        },
      ),
    )
}
