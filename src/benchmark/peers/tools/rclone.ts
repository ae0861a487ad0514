/**
 * rclone (Debian package `rclone`), configured only through environment variables (an S3
 * remote named `bench`, provider Ceph); no config file is read or written.
 */
import { join } from 'node:path'
import { MiB } from '../workloads.js'
import { aptInstall, canInstall, lastLine, onPath, runQuiet } from './tools.js'
import type { ExternalPeer, Invocation, PhaseTask, PrepareOptions, PreparedTool } from './types.js'

async function find(): Promise<string | undefined> {
  for (const bin of ['/usr/bin/rclone', onPath('rclone')]) {
    if (bin && (await runQuiet(bin, ['version'])).ok) return bin
  }
  return undefined
}

function remote(task: PhaseTask, path: string): string {
  return `bench:${task.bucket}/${path.replace(/\/$/, '')}`
}

export const rclone: ExternalPeer = {
  name: 'rclone',
  kind: 'external',
  description: 'rclone with --transfers/--checkers/--s3-upload-concurrency = concurrency, --s3-chunk-size = part size',
  supports: { W1: ['put', 'get'], W2: ['put', 'get'], W3: ['put', 'get'], W4: ['list'], W5: ['class'] },
  async prepare(o: PrepareOptions): Promise<PreparedTool | string> {
    let bin = await find()
    let note: string | undefined
    if (!bin && o.install && canInstall()) {
      const failed = await aptInstall('rclone', o.log)
      if (failed) return failed
      bin = await find()
      note = 'installed with apt-get'
    }
    if (!bin) return 'rclone not found: install the Debian package rclone (apt-get install -y rclone)'
    const env: Record<string, string> = {
      RCLONE_CONFIG: join(o.tmp, 'rclone.conf'),
      RCLONE_CONFIG_BENCH_TYPE: 's3',
      RCLONE_CONFIG_BENCH_PROVIDER: 'Ceph',
      RCLONE_CONFIG_BENCH_ENDPOINT: o.s3.endpoint,
      RCLONE_CONFIG_BENCH_REGION: o.s3.region,
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: o.s3.accessKeyId,
      RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: o.s3.secretAccessKey,
      RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
    }
    const c = String(o.concurrency)
    const flags = ['--transfers', c, '--checkers', c, '--s3-upload-concurrency', c, '--s3-chunk-size', `${Math.round(o.partSize / MiB)}M`]
    const version = lastLine((await runQuiet(bin, ['version'])).stdout.split('\n')[0] ?? '')
    const exe = bin
    const call = (args: string[]): Invocation => ({ file: exe, args: [...args, ...flags], env })
    return {
      version,
      ...(note ? { note } : {}),
      startup: { file: exe, args: ['version'], env },
      invocation(task) {
        if (task.workload === 'W3') return task.phase === 'put' ? call(['rcat', remote(task, task.key)]) : call(['cat', remote(task, task.key)])
        switch (task.phase) {
          case 'put':
            return call(['copy', task.dir, remote(task, task.prefix)])
          case 'get':
            return call(['copy', remote(task, task.prefix), task.dir])
          case 'list':
            return call(['lsf', '-R', '--files-only', remote(task, task.prefix)])
          case 'class':
            return call(['settier', task.storageClass, remote(task, task.prefix)])
        }
      },
      parseList(stdout, task) {
        return stdout
          .split('\n')
          .filter(Boolean)
          .map((name) => task.prefix + name)
      },
    }
  },
}
