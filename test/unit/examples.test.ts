/**
 * Every TSDoc @example of src/ type-checked as a user would write it (scripts/check-examples.ts:
 * imports from the package's public entries, one tsc program). The examples listed below did not
 * compile when this check was added (most use a placeholder they never define); the list may
 * only shrink: a new or changed example that does not compile fails here, and a fixed one must
 * leave the list.
 */
import { describe, expect, it } from 'vitest'
import { checkExamples, type ExampleReport } from '../../scripts/check-examples.js'

const KNOWN_BROKEN = new Set<string>([])

const idOf = (f: { file: string; symbol: string }) => `${f.file} (${f.symbol})`

describe('TSDoc examples', () => {
  let report: ExampleReport

  it('are found in src/ and type-checked', { timeout: 300_000 }, () => {
    report = checkExamples()
    expect(report.examples.length).toBeGreaterThan(150)
    // The check sees real errors: delete.ts's example calls a keysOf it never defines.
    const deleteExample = report.failures.find((f) => f.file === 'src/stages/delete.ts')
    expect(deleteExample?.errors.join('\n') ?? 'compiles now').toMatch(/keysOf|compiles now/)
  })

  it('compile, but for the known broken ones', () => {
    const unexpected = report.failures.filter((f) => !KNOWN_BROKEN.has(idOf(f)))
    expect(unexpected.map((f) => `${f.file}:${f.line} (${f.symbol})\n  ${f.errors.join('\n  ')}`)).toEqual([])
  })

  it('leave the known-broken list once fixed', () => {
    const failing = new Set(report.failures.map(idOf))
    expect([...KNOWN_BROKEN].filter((id) => !failing.has(id))).toEqual([])
  })
})
