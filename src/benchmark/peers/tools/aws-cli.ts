/**
 * aws-cli (Debian package `awscli`): `aws s3` commands with `--endpoint-url`, and
 * `s3.max_concurrent_requests` = concurrency, `s3.multipart_chunksize` = part size set with
 * `aws configure set` into a private AWS_CONFIG_FILE. /usr/bin/aws is preferred over one on
 * PATH (a pyenv shim there may be broken); either must answer `aws --version`.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MiB } from '../workloads.js'
import { aptInstall, canInstall, lastLine, onPath, runQuiet } from './tools.js'
import type { ExternalPeer, Invocation, PrepareOptions, PreparedTool } from './types.js'

async function works(bin: string): Promise<string | undefined> {
  const r = await runQuiet(bin, ['--version'])
  return r.ok ? lastLine(`${r.stdout}\n${r.stderr}`) : undefined
}

export const awsCli: ExternalPeer = {
  name: 'aws-cli',
  kind: 'external',
  description: 'aws s3 cp/ls with s3.max_concurrent_requests = concurrency, s3.multipart_chunksize = part size',
  supports: { W1: ['put', 'get'], W2: ['put', 'get'], W3: ['put', 'get'], W4: ['list'], W5: ['class'] },
  async prepare(o: PrepareOptions): Promise<PreparedTool | string> {
    const system = '/usr/bin/aws'
    let bin: string | undefined
    let version = await works(system)
    let note: string | undefined
    if (version) bin = system
    if (!bin && o.install && canInstall()) {
      const failed = await aptInstall('awscli', o.log)
      version = failed ? undefined : await works(system)
      if (version) {
        bin = system
        note = 'installed with apt-get'
      } else note = failed ?? `${system} does not answer --version after installing awscli`
    }
    if (!bin) {
      const other = onPath('aws')
      const v = other && other !== system ? await works(other) : undefined
      if (!other || !v) return `aws-cli not usable: ${note ?? `${system} missing`}; install the Debian package awscli`
      bin = other
      version = v
      note = `${system} unavailable (${note ?? 'missing'}); using ${other}`
    }
    const env: Record<string, string> = {
      AWS_CONFIG_FILE: join(o.tmp, 'aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(o.tmp, 'aws-credentials'),
      AWS_ACCESS_KEY_ID: o.s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: o.s3.secretAccessKey,
      AWS_DEFAULT_REGION: o.s3.region,
      AWS_REGION: o.s3.region,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      AWS_PAGER: '',
    }
    await writeFile(env.AWS_CONFIG_FILE!, '')
    await writeFile(env.AWS_SHARED_CREDENTIALS_FILE!, '')
    const settings: [string, string][] = [
      ['default.s3.max_concurrent_requests', String(o.concurrency)],
      ['default.s3.multipart_chunksize', `${Math.round(o.partSize / MiB)}MB`],
      ['default.s3.multipart_threshold', `${Math.round(o.partSize / MiB)}MB`],
    ]
    for (const [k, v] of settings) {
      const r = await runQuiet(bin, ['configure', 'set', k, v], env)
      if (!r.ok) return `aws configure set ${k} failed: ${lastLine(r.stderr)}`
    }
    const exe = bin
    const s3 = (args: string[]): Invocation => ({ file: exe, args: ['s3', ...args, '--endpoint-url', o.s3.endpoint], env })
    const url = (bucket: string, path: string) => `s3://${bucket}/${path}`
    return {
      version: version ?? '',
      ...(note ? { note } : {}),
      startup: { file: exe, args: ['--version'], env },
      invocation(task) {
        const quiet = ['--only-show-errors']
        if (task.workload === 'W3') {
          return task.phase === 'put' ? s3(['cp', '-', url(task.bucket, task.key), ...quiet]) : s3(['cp', url(task.bucket, task.key), '-', ...quiet])
        }
        switch (task.phase) {
          case 'put':
            return s3(['cp', task.dir, url(task.bucket, task.prefix), '--recursive', ...quiet])
          case 'get':
            return s3(['cp', url(task.bucket, task.prefix), task.dir, '--recursive', ...quiet])
          case 'list':
            return s3(['ls', '--recursive', url(task.bucket, task.prefix)])
          case 'class':
            return s3(['cp', url(task.bucket, task.prefix), url(task.bucket, task.prefix), '--recursive', '--storage-class', task.storageClass, ...quiet])
        }
      },
      parseList(stdout) {
        // "2024-05-01 12:00:00          0 fixture/w4/000001.bin"
        const keys: string[] = []
        for (const line of stdout.split('\n')) {
          const m = /^\S+\s+\S+\s+\d+ (.*)$/.exec(line)
          if (m) keys.push(m[1]!)
        }
        return keys
      },
    }
  },
}
