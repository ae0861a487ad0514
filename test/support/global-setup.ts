/**
 * vitest globalSetup: start one local S3 server (Ceph radosgw, scripts/local-s3.sh) for the
 * whole run, or reuse the one named by S3_ENDPOINT; stop it at the end.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startRadosgw, stopRadosgw } from '../../src/radosgw.js'

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
  const env = await startRadosgw(dir)
  console.log(`local S3 (radosgw) at ${env.endpoint} after ${((Date.now() - started) / 1000).toFixed(1)} s`)
  project.provide('s3', {
    endpoint: env.endpoint,
    accessKeyId: env.accessKeyId,
    secretAccessKey: env.secretAccessKey,
    region: env.region,
    dir,
  })
  return async () => {
    await stopRadosgw(dir)
  }
}
