/**
 * The `bucketflow` program: every subcommand, and `run(args, io)`, which runs one command line
 * against the given streams and signal and resolves to its exit code. `main.ts` wires it to the
 * process (signals, stdout, exit); tests call it directly.
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { addGlobalOptions, CliContext, EXIT_USAGE, reportError, setCurrentContext, type CliIo } from './common.js'
import { register as registerBatch } from './batch.js'
import { register as registerBench } from './bench.js'
import { register as registerBuckets } from './buckets.js'
import { register as registerCp } from './cp.js'
import { register as registerDemo } from './demo.js'
import { register as registerGet } from './get.js'
import { register as registerHead } from './head.js'
import { register as registerIndex } from './index-cmd.js'
import { register as registerInventory } from './inventory.js'
import { register as registerLs } from './ls.js'
import { register as registerPut } from './put.js'
import { register as registerRm } from './rm.js'
import { register as registerServe } from './serve.js'
import { register as registerSfn } from './sfn.js'
import { register as registerShip } from './ship.js'
import { register as registerTail } from './tail.js'
import { register as registerUploads } from './uploads.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

type Register = (program: Command, ctx: CliContext) => void
const REGISTER: Register[] = [
  registerLs,
  registerPut,
  registerGet,
  registerCp,
  registerRm,
  registerBuckets,
  registerHead,
  registerIndex,
  registerInventory,
  registerBatch,
  registerSfn,
  registerTail,
  registerShip,
  registerUploads,
  registerServe,
  registerDemo,
  registerBench,
]

/** The command tree for one run. */
export function buildProgram(ctx: CliContext): Command {
  const program = addGlobalOptions(new Command('bucketflow'))
    .description(
      'Stream-first S3: parallel object verbs, bucket indexes to Parquet, bounded-memory uploads, rotating logs and tail -f.\nURLs are s3://bucket/key-or-prefix; paths follow aws s3 (s3://b/p with -r is the folder p/). Credentials and endpoint come from the standard AWS environment or --endpoint.',
    )
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExit codes: 0 ok, 1 some items failed (or ls found nothing), 2 usage error, 130/143 interrupted (SIGINT/SIGTERM).')
  for (const register of REGISTER) register(program, ctx)
  program.exitOverride()
  for (const cmd of program.commands) cmd.exitOverride()
  return program
}

/**
 * Run one command line (`args` without the node and script paths) and resolve to its exit code.
 * One run at a time per process (the run's context is module state, for the subcommands).
 *
 * @example
 * ```ts
 * const code = await run(['ls', 's3://cats/'], { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin })
 * ```
 */
export async function run(args: string[], io: CliIo): Promise<number> {
  const ctx = new CliContext(io)
  setCurrentContext(ctx)
  const json = args.includes('--json')
  const program = buildProgram(ctx)
  const output = {
    writeOut: (s: string) => void (ctx.stdoutClosed || io.stdout.write(s)),
    writeErr: (s: string) => void io.stderr.write(s),
    outputError: (s: string, write: (s: string) => void) => {
      if (json)
        void (
          ctx.stdoutClosed ||
          io.stdout.write(`${JSON.stringify({ ok: false, error: { name: 'UsageError', code: 'Usage', message: s.replace(/^error: /, '').trim() } })}\n`)
        )
      else write(s)
    },
  }
  program.configureOutput(output)
  for (const cmd of program.commands) cmd.configureOutput(output)
  try {
    await program.parseAsync(args, { from: 'user' })
    return ctx.exitCode
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE
    return reportError(ctx, { json }, err)
  } finally {
    setCurrentContext(undefined)
  }
}

export { CliContext }
