#!/usr/bin/env node
/**
 * `bucketflow`: the command line. One file per subcommand under src/cli/.
 * Exit codes: 0 ok, 1 some items failed, 2 usage error.
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { addGlobalOptions, EXIT_USAGE, reportError } from './common.js'
import { register as registerBatch } from './batch.js'
import { register as registerBench } from './bench.js'
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

// The SDK's Node-version notice is for the library's users; the CLI keeps its stderr for results.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

export function buildProgram(): Command {
  const program = addGlobalOptions(new Command('bucketflow'))
    .description('Stream-first S3: parallel object verbs, bucket indexes to Parquet, bounded-memory uploads, rotating logs and tail -f.\nURLs are s3://bucket/key-or-prefix. Credentials and endpoint come from the standard AWS environment or --endpoint.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExit codes: 0 ok, 1 some items failed, 2 usage error.')
  for (const register of [registerLs, registerPut, registerGet, registerCp, registerRm, registerHead, registerIndex, registerInventory, registerBatch, registerSfn, registerTail, registerShip, registerUploads, registerServe, registerDemo, registerBench]) register(program)
  program.exitOverride()
  for (const cmd of program.commands) cmd.exitOverride()
  return program
}

export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE
      return
    }
    process.exitCode = reportError(err)
  }
}

await main()
