/** Small CLI text helpers. */
import { describe, expect, it } from 'vitest'
import { count, formatBytes } from '../../src/cli/output.js'

describe('CLI counts and sizes', () => {
  it('says "1 object" and "2 objects", "1 prefix" and "0 prefixes"', () => {
    expect(count(1, 'object')).toBe('1 object')
    expect(count(2, 'object')).toBe('2 objects')
    expect(count(0, 'line')).toBe('0 lines')
    expect(count(1, 'prefix', 'prefixes')).toBe('1 prefix')
    expect(count(0, 'prefix', 'prefixes')).toBe('0 prefixes')
    expect(formatBytes(1536)).toBe('1.5 KiB')
  })
})
