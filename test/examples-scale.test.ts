import { describe, expect, it } from 'vitest'
import { runScript } from './support/run-script.js'

describe('beyond one machine example', () => {
  it('beyond-one-machine.ts: partitioned index, Batch Operations plan, key ranges, append', async () => {
    const run = await runScript('examples/beyond-one-machine.ts')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/index: 300 rows in 3 partitions/)
    expect(run.stdout).toMatch(/raw\/ +100 objects/)
    expect(run.stdout).toMatch(/batch: 100 objects, operation S3PutObjectCopy -> DEEP_ARCHIVE/)
    expect(run.stdout).toMatch(/sfn: \d+ key ranges; ItemReader \{"InputType":"JSONL"\}/)
    expect(run.stdout).toMatch(/append: app.log is 23 bytes/)
  })
})
