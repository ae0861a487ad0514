/**
 * The single-node Ceph radosgw of `scripts/local-s3.sh`: start it, stop it, read what it prints.
 * Used by the test run's global setup, the peer benchmark (`bucketflow bench peers`) and the
 * runners under `bench/`. Not part of the library: `import 'bucketflow'` never loads it.
 *
 * @example
 * ```ts
 * import { mkdtemp } from 'node:fs/promises'
 * const dir = await mkdtemp('/tmp/s3-')
 * const s3 = await startRadosgw(dir)
 * console.log(s3.endpoint) // http://127.0.0.1:<port>
 * await stopRadosgw(dir)
 * ```
 * @packageDocumentation
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The package's scripts/local-s3.sh (one folder up from src/ or dist/). */
export const LOCAL_S3_SCRIPT = fileURLToPath(new URL('../scripts/local-s3.sh', import.meta.url))

/** Where a radosgw of scripts/local-s3.sh listens, and how to sign requests to it. */
export interface RadosgwEnv {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  /** The server's folder (its ceph.conf, logs and data). */
  dir: string
}

/**
 * Parse `NAME=value` lines (what scripts/local-s3.sh prints).
 *
 * @example
 * ```ts
 * parseEnv('AWS_REGION=us-east-1\nnoise') // { AWS_REGION: 'us-east-1' }
 * ```
 */
export function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (m) out[m[1]!] = m[2]!
  }
  return out
}

/**
 * Start a radosgw in `dir` (scripts/local-s3.sh start; installs Ceph with apt-get when missing
 * and allowed). Rejects with the script's stderr when it does not come up; the half-started
 * server is stopped first.
 *
 * @example
 * ```ts
 * const { endpoint, accessKeyId, secretAccessKey } = await startRadosgw('/tmp/my-s3')
 * ```
 */
export async function startRadosgw(dir: string, options: { timeoutMs?: number } = {}): Promise<RadosgwEnv> {
  let stdout: string
  try {
    ;({ stdout } = await run('bash', [LOCAL_S3_SCRIPT, 'start', dir], { maxBuffer: 1 << 20, timeout: options.timeoutMs ?? 15 * 60_000 }))
  } catch (err) {
    await stopRadosgw(dir)
    throw new Error(`Could not start the local S3 server:\n${(err as { stderr?: string }).stderr ?? String(err)}`)
  }
  const e = parseEnv(stdout)
  if (!e.AWS_ENDPOINT_URL_S3 || !e.AWS_ACCESS_KEY_ID || !e.AWS_SECRET_ACCESS_KEY) {
    await stopRadosgw(dir)
    throw new Error(`scripts/local-s3.sh printed no endpoint and credentials:\n${stdout}`)
  }
  return {
    endpoint: e.AWS_ENDPOINT_URL_S3,
    region: e.AWS_REGION ?? 'us-east-1',
    accessKeyId: e.AWS_ACCESS_KEY_ID,
    secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
    dir,
  }
}

/**
 * Stop the radosgw of `dir` and remove the folder (scripts/local-s3.sh stop). Never rejects.
 *
 * @example
 * ```ts
 * await stopRadosgw('/tmp/my-s3')
 * ```
 */
export async function stopRadosgw(dir: string): Promise<void> {
  await run('bash', [LOCAL_S3_SCRIPT, 'stop', dir]).catch(() => undefined)
}

/**
 * The folder of the radosgw last started by scripts/local-s3.sh, when it serves `endpoint`
 * (so that its deleted objects can be garbage-collected at once).
 *
 * @example
 * ```ts
 * const dir = await lastRadosgwDir(process.env.S3_ENDPOINT!)
 * ```
 */
export async function lastRadosgwDir(endpoint: string): Promise<string | undefined> {
  try {
    const dir = (await readFile(join(process.env.TMPDIR ?? '/tmp', 'bucketflow-s3.last'), 'utf8')).trim()
    return parseEnv(await readFile(join(dir, 'env'), 'utf8')).AWS_ENDPOINT_URL_S3 === endpoint ? dir : undefined
  } catch {
    return undefined
  }
}
