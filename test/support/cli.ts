/** Run the `bucketflow` CLI from source in a child process. */
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { inject } from 'vitest'

const main = resolve(import.meta.dirname, '../../src/cli/main.ts')

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Run `bucketflow ...args` against the run's S3 server. */
export function cli(args: string[], options: { input?: string | Buffer; env?: Record<string, string>; cwd?: string } = {}): Promise<CliRun> {
  const s3 = inject('s3')
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}
