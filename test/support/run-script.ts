/** Run a TypeScript program (an example, a bench) in a child process against the run's S3 server. */
import { spawn } from 'node:child_process'
import { inject } from 'vitest'

export interface ScriptRun {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * With `direct: true`, `path` is an executable run as it is (not a TypeScript file). With
 * `untilStdout`, the child is stopped (SIGTERM) once its output ends with that text.
 */
export function runScript(
  path: string,
  args: string[] = [],
  options: { env?: Record<string, string>; input?: string; timeoutMs?: number; direct?: boolean; untilStdout?: string } = {},
): Promise<ScriptRun> {
  const s3 = inject('s3')
  return new Promise((resolve, reject) => {
    const child = spawn(options.direct ? path : process.execPath, options.direct ? args : ['--import', 'tsx', path, ...args], {
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
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (options.untilStdout !== undefined && stdout.endsWith(options.untilStdout)) child.kill('SIGTERM')
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(options.input ?? '')
  })
}
