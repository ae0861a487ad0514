import { describe, expect, it } from 'vitest'
import { runScript } from './support/run-script.js'

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
