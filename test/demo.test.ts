import { inject, describe, expect, it } from 'vitest'
import { cli } from './support/cli.js'
import { useBucket } from './support/s3.js'

describe('bucketflow demo', () => {
  /** A bucket that exists for the whole file: `ls` must show it, or its silence proves nothing. */
  const witness = useBucket('demo-witness')

  it('runs the whole story against the local radosgw and cleans up', async () => {
    const s3 = inject('s3')
    const run = await cli(['demo', '--endpoint', s3.endpoint])
    expect(run.code, run.stderr).toBe(0)
    for (let step = 1; step <= 9; step++) expect(run.stdout).toContain(`[${step}] `)
    expect(run.stdout).toMatch(/15 pictures in memory, byte-identical/)
    expect(run.stdout).toMatch(/sizes match the index: everything matches!/)
    expect(run.stdout).toMatch(/saw all 12 lines in order/)
    expect(run.stdout).toMatch(/DEEP_ARCHIVE {2}angry\/cat_2\.png/)
    expect(run.stdout).toMatch(/Cleanup complete/)
    const bucket = /created s3:\/\/(\S+);/.exec(run.stdout)![1]!
    const ls = await cli(['ls'])
    expect(ls.code, ls.stderr).toBe(0)
    const listed = ls.stdout.split('\n').map((line) => line.trim().split(/\s+/).at(-1))
    expect(listed).toContain(witness().name)
    expect(listed).not.toContain(bucket)
  })

  it('runs on the embedded server by default', async () => {
    const run = await cli(['demo'], { env: { AWS_ENDPOINT_URL_S3: '' } })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/on an embedded S3 at http:\/\/127\.0\.0\.1:\d+/)
    expect(run.stdout).toMatch(/Cleanup complete/)
  })
})
