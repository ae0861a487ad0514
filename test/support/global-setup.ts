/**
 * vitest globalSetup: start one local S3 server (Ceph radosgw, scripts/local-s3.sh) for the
 * whole run, or reuse the one named by S3_ENDPOINT; stop it at the end.
 */
import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { TestProject } from 'vitest/node'
import { parseEnv } from '../../src/benchmark/server.js'

const run = promisify(execFile)
const script = resolve(import.meta.dirname, '../../scripts/local-s3.sh')

export interface S3Env {
  endpoint: string
  accessKeyId: string
  secretAccessKey: string
  region: string
  /** Folder of the server this run started (absent when reusing S3_ENDPOINT). */
  dir?: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3Env
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.S3_ENDPOINT) {
    project.provide('s3', {
      endpoint: process.env.S3_ENDPOINT,
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'bucketflow-test-key',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'bucketflow-test-secret-0123456789',
      region: process.env.AWS_REGION ?? 'us-east-1',
    })
    return async () => {}
  }
  const dir = await mkdtemp(join(tmpdir(), 'bucketflow-s3-'))
  const started = Date.now()
  let stdout: string
  try {
    ;({ stdout } = await run('bash', [script, 'start', dir], { maxBuffer: 1 << 20, timeout: 15 * 60_000 }))
  } catch (err) {
    const e = err as { stderr?: string }
    await run('bash', [script, 'stop', dir]).catch(() => undefined)
    throw new Error(`Could not start the local S3 server:\n${e.stderr ?? String(err)}`)
  }
  const env = parseEnv(stdout)
  console.log(`local S3 (radosgw) at ${env.AWS_ENDPOINT_URL_S3} after ${((Date.now() - started) / 1000).toFixed(1)} s`)
  project.provide('s3', {
    endpoint: env.AWS_ENDPOINT_URL_S3!,
    accessKeyId: env.AWS_ACCESS_KEY_ID!,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
    region: env.AWS_REGION!,
    dir,
  })
  return async () => {
    await run('bash', [script, 'stop', dir]).catch((err: unknown) => console.error('stopping local S3 failed', err))
  }
}
