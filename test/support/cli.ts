/** Run the `bucketflow` CLI from source in a child process, against the run's S3 server. */
import { resolve } from 'node:path'
import { runScript, type ScriptRun } from './run-script.js'

const main = resolve(import.meta.dirname, '../../src/cli/main.ts')

export type CliRun = ScriptRun

/** Run `bucketflow ...args`. */
export function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return runScript(main, args, options)
}
