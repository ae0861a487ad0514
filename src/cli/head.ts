/** `bucketflow head` (object metadata) and `bucketflow cat` (object bytes to stdout, with ranges). */
import { pipeline } from 'node:stream/promises'
import { InvalidArgumentError, type Command } from 'commander'
import type { GetOptions } from '../index.js'
import { act, EXIT_OK, globals, openBucket, Output, parseS3Url, type CliContext } from './common.js'
import { checkOneKey } from './targets.js'

function integer(name: string) {
  return (value: string): number => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`Expected ${name} to be an integer, got ${JSON.stringify(value)}`)
    return n
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('head')
    .description("show an object's metadata: size, ETag, last modified, storage class, content type and encoding, metadata, restore status")
    .argument('<url>', 's3://bucket/key')
    .addHelpText('after', '\nExample:\n  bucketflow head --json s3://cats/cute/1.png')
    .action(
      act(ctx, async (url: string, _opts: unknown, cmd: Command) => {
        const g = globals(cmd)
        const { bucket, key } = parseS3Url(url)
        checkOneKey({ bucket, key }, 'head', false)
        const info = await openBucket(bucket, g).head(key, { signal: ctx.signal })
        const fields = Object.entries(info).filter(([, v]) => v !== undefined)
        const width = Math.max(...fields.map(([k]) => k.length))
        const human = fields
          .map(
            ([k, v]) => `${k.padEnd(width)} ${v instanceof Date ? v.toISOString() : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? '')}`,
          )
          .join('\n')
        new Output(ctx, g).data(human, info)
        return EXIT_OK
      }),
    )

  program
    .command('cat')
    .description('write an object (or a byte range of it, Python slice rules) to stdout')
    .argument('<url>', 's3://bucket/key')
    .option('--start <n>', 'first byte (negative: from the end; alone, a suffix: --start -100 is the last 100 bytes)', integer('start'))
    .option('--end <n>', 'end byte, exclusive (negative: from the end; past the end: up to the end)', integer('end'))
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow cat s3://logs/app.log | less\n  bucketflow cat --start -1024 s3://logs/app.log\n  bucketflow cat --start 0 --end 100 s3://data/big.csv',
    )
    .action(
      act(ctx, async (url: string, opts: { start?: number; end?: number }, cmd: Command) => {
        const g = globals(cmd)
        const { bucket, key } = parseS3Url(url)
        checkOneKey({ bucket, key }, 'cat', false)
        const range: GetOptions = { signal: ctx.signal }
        if (opts.start !== undefined) range.start = opts.start
        if (opts.end !== undefined) range.end = opts.end
        ctx.activity = { what: `cat of ${url}`, done: 0, total: 1 }
        await pipeline(openBucket(bucket, g).stream(key, range), ctx.io.stdout, { end: false })
        return EXIT_OK
      }),
    )
}
