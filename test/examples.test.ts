import { describe, expect, it } from 'vitest'
import { Bucket } from '../src/index.js'
import { runScript } from './support/run-script.js'
import { bucketName, s3Options } from './support/s3.js'

describe('examples run against the local S3', () => {
  it('etl.ts: list -> filter -> get -> transform -> put', async () => {
    const run = await runScript('examples/etl.ts')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/read 40 click files, wrote 40 summaries, 0 failures/)
    expect(run.stdout).toMatch(/"rows":200,"users":17/)
  })

  it('storage-classes.ts: freeze, inspect, thaw, restore', async () => {
    const run = await runScript('examples/storage-classes.ts')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/head raw\/2019.csv -> DEEP_ARCHIVE/)
    expect(run.stdout).toMatch(/after thawing raw\/2021.csv -> STANDARD/)
  })
})

describe('index and log examples', () => {
  it('index-to-parquet.ts: partitioned listing -> Arrow -> Parquet, local and on S3, queried by DuckDB', async () => {
    const run = await runScript('examples/index-to-parquet.ts')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/wrote 5000 rows/)
    expect(run.stdout).toMatch(/GLACIER +50 objects/)
    expect(run.stdout).toMatch(/STANDARD +4950 objects/)
  })

  it('log-shipper.ts: stdin -> rotating log objects, followed by a second process', async () => {
    const bucket = await Bucket.create(bucketName('shipper'), s3Options())
    try {
      const url = `s3://${bucket.name}/app/`
      const input = Array.from({ length: 300 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`)
      const follower = runScript('examples/log-shipper.ts', ['follow', url], { timeoutMs: 60_000, untilStdout: `line 299 ${'x'.repeat(299 % 50)}\n` })
      const ship = await runScript('examples/log-shipper.ts', ['ship', url], { input: `${input.join('\n')}\n`, env: { ROTATE_MS: '200' } })
      expect(ship.code, ship.stderr).toBe(0)
      expect(ship.stderr).toMatch(/shipped 300 lines \(\d+ bytes, \d+ stored\) in \d+ objects/)
      const followed = await follower
      expect(followed.stdout.trimEnd().split('\n')).toEqual(input)
    } finally {
      await bucket.delete({ force: true })
    }
  })
})
