/**
 * Every TSDoc @example of src/ type-checked as a user would write it (scripts/check-examples.ts:
 * imports from the package's public entries, one tsc program). The examples listed below did not
 * compile when this check was added (most use a placeholder they never define); the list may
 * only shrink: a new or changed example that does not compile fails here, and a fixed one must
 * leave the list.
 */
import { describe, expect, it } from 'vitest'
import { checkExamples, type ExampleReport } from '../../scripts/check-examples.js'

const idOf = (f: { file: string; line: number; symbol: string }) => `${f.file}:${f.line} (${f.symbol})`

describe('TSDoc examples', () => {
  let report: ExampleReport

  it('are found in src/ and type-checked', { timeout: 300_000 }, () => {
    report = checkExamples()
    expect(report.examples.length).toBeGreaterThan(200)
  })

  it('all compile against the public entries', () => {
    expect(report.failures.map((f) => `${idOf(f)}\n  ${f.errors.join('\n  ')}`)).toEqual([])
  })

  it('cover every public value export with an example of its own', () => {
    expect(report.missing).toEqual([])
  })
})
