/**
 * Run the `bucketflow` CLI against the run's S3 server: `cli()` in a child process (the real
 * program: signals, pipes, exit codes), `runCli()` in this process through `run(args, io)` (the
 * same code minus the process around it; fast, for the many cases that need no process).
 */
import { resolve } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { inject } from 'vitest'
import { run } from '../../src/cli/program.js'
import { runScript, type ScriptRun } from './run-script.js'

const main = resolve(import.meta.dirname, '../../src/cli/main.ts')

export type CliRun = ScriptRun

/** Run `bucketflow ...args` in a child process. */
export function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return runScript(main, args, options)
}

/** The path of the CLI's entry point (for tests that spawn it themselves). */
export const cliMain = main

/** Point this process's AWS environment at the run's S3 server (for {@link runCli}). */
export function useS3Env(): void {
  const s3 = inject('s3')
  process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint
  process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey
  process.env.AWS_REGION = s3.region
  delete process.env.AWS_ENDPOINT_URL
  delete process.env.AWS_PROFILE
}

/**
 * Run `bucketflow ...args` in this process and collect what it printed. The AWS environment
 * must point at the server ({@link useS3Env}).
 */
export async function runCli(
  args: string[],
  options: { input?: string | Buffer; signal?: AbortSignal } = {},
): Promise<{ code: number; stdout: string; stderr: string; stdoutBytes: Buffer }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: Buffer[] = []
  const err: Buffer[] = []
  stdout.on('data', (c: Buffer) => out.push(c))
  stderr.on('data', (c: Buffer) => err.push(c))
  const code = await run(args, {
    stdout,
    stderr,
    stdin: Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]),
    ...(options.signal ? { signal: options.signal } : {}),
  })
  const stdoutBytes = Buffer.concat(out)
  return { code, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes }
}
