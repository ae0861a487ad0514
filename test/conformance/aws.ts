/**
 * aws-cli for the differential tests: Debian's `awscli` package (aws-cli 2.9 at /usr/bin/aws),
 * installed with apt-get when missing and running as root, the way scripts/local-s3.sh installs
 * Ceph; and a batch runner that runs many `aws` command lines in one Python process.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The aws-cli the tests compare against (not an `aws` shim that may come first on PATH). */
export const AWS = '/usr/bin/aws'
const BATCH = resolve(import.meta.dirname, 'aws_batch.py')

/** Install Debian's awscli when /usr/bin/aws is missing; resolve to its `--version` line. */
export async function ensureAwsCli(): Promise<string> {
  if (!existsSync(AWS)) {
    if (process.getuid?.() !== 0) {
      throw new Error(`aws-cli is missing at ${AWS}. Install it as root on Debian/Ubuntu with:\n  apt-get install -y awscli`)
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const apt = ['-y', '-o', 'DPkg::Lock::Timeout=600']
    await run('apt-get', ['update', '-qq', '-o', 'DPkg::Lock::Timeout=600'], { env, timeout: 15 * 60_000, maxBuffer: 1 << 24 })
    await run('apt-get', ['install', ...apt, 'awscli'], { env, timeout: 15 * 60_000, maxBuffer: 1 << 24 })
  }
  const { stdout } = await run(AWS, ['--version'], {
    env: awsEnv({ endpoint: 'http://127.0.0.1:1', accessKeyId: 'x', secretAccessKey: 'x', region: 'us-east-1' }),
  })
  return stdout.trim()
}

/** Credentials and endpoint of the server under test. */
export interface AwsTarget {
  endpoint: string
  accessKeyId: string
  secretAccessKey: string
  region: string
}

/** An environment with only what aws-cli needs: no user config, no pager, no other endpoint. */
export function awsEnv(target: AwsTarget): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const k of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR']) if (process.env[k] !== undefined) env[k] = process.env[k]
  return {
    ...env,
    LC_ALL: 'C.UTF-8',
    PYTHONIOENCODING: 'utf-8',
    AWS_ACCESS_KEY_ID: target.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.secretAccessKey,
    AWS_DEFAULT_REGION: target.region,
    AWS_REGION: target.region,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_PAGER: '',
  }
}

/** One `aws` command line (without the program name), with optional stdin. */
export interface AwsCommand {
  args: string[]
  stdin?: string
}

/** What one command did. */
export interface AwsRun {
  code: number
  stdout: string
  stderr: string
  /** Seconds the command took (inside the batch). */
  seconds?: number
}

/**
 * Run `aws --endpoint-url <endpoint> <args>` for each command, in order, in one Python process
 * started in `cwd`.
 */
export function awsBatch(target: AwsTarget, commands: AwsCommand[], cwd: string): Promise<AwsRun[]> {
  const input = JSON.stringify(
    commands.map((c) => ({ args: ['--endpoint-url', target.endpoint, ...c.args], ...(c.stdin !== undefined ? { stdin: c.stdin } : {}) })),
  )
  return new Promise((resolvePromise, reject) => {
    const child = spawn('/usr/bin/python3', [BATCH], { cwd, env: awsEnv(target), stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`aws batch exited ${code}: ${stderr.slice(-2000)}`))
      try {
        resolvePromise(JSON.parse(stdout) as AwsRun[])
      } catch (err) {
        reject(new Error(`aws batch printed no JSON (${(err as Error).message}): ${stdout.slice(0, 500)} ${stderr.slice(-2000)}`))
      }
    })
    child.stdin.end(input)
  })
}
