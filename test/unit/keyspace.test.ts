/**
 * Key-space arithmetic of the partitioned listing: S3's key order, the characters seen per
 * position, how many keys a range still holds, and where a range is split. Checked against the
 * key sets themselves (counts and halves computed from the keys, not from the arithmetic).
 */
import { describe, expect, it } from 'vitest'
import { compareKeys } from '../../src/keys.js'
import { estimateRemaining, KeyShape, planSplit } from '../../src/stages/partition/keyspace.js'

/** Keys of a range (after `cursor`, before `end`) in a sorted list. */
function keysIn(keys: readonly string[], cursor: string, end: string | undefined): string[] {
  return keys.filter((k) => compareKeys(k, cursor) > 0 && (end === undefined || compareKeys(k, end) < 0))
}

function shapeOf(keys: readonly string[]): KeyShape {
  const shape = new KeyShape()
  shape.add(keys.map((key) => ({ key })))
  return shape
}

/** A seeded generator, so a failure reproduces. */
function random(seed: number): (n: number) => number {
  let s = seed
  return (n) => {
    s = (s * 1103515245 + 12345) % 2 ** 31
    return s % n
  }
}

describe('compareKeys', () => {
  it('orders keys by their UTF-8 bytes, as S3 lists them (not by UTF-16 units)', () => {
    const rand = random(7)
    const pool = ['a', 'Z', '/', '0', '\u007f', '\u00e9', '\u0800', '\uD7FF', '\uE000', '\uFF21', '\uFFFD', '\u{1F600}', '\u{10000}', '\u{10FFFD}']
    const keys = Array.from({ length: 2000 }, () => Array.from({ length: 1 + rand(5) }, () => pool[rand(pool.length)]).join(''))
    const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
    expect([...keys].sort(compareKeys)).toEqual(byBytes)
    // The case that UTF-16 gets wrong: U+FF21 is EF BC A1, U+1F600 is F0 9F 98 80.
    expect(compareKeys('\uFF21', '\u{1F600}')).toBeLessThan(0)
    expect('\uFF21' < '\u{1F600}').toBe(false)
    expect(compareKeys('ab', 'ab')).toBe(0)
    expect(compareKeys('ab', 'abc')).toBeLessThan(0)
  })
})

describe('KeyShape', () => {
  it('records every 8th key and the last, and answers the sorted characters per position', () => {
    const shape = new KeyShape()
    expect(shape.empty).toBe(true)
    const keys = Array.from({ length: 17 }, (_, i) => ({ key: `${String.fromCharCode(97 + i)}${i % 2}` }))
    shape.add(keys)
    // Keys 0, 8, 16 (also the last): a0, i0, q0.
    expect(shape.empty).toBe(false)
    expect(shape.at(0)).toEqual(['a', 'i', 'q'].map((c) => c.codePointAt(0)))
    expect(shape.at(1)).toEqual(['0'.codePointAt(0)])
    // A position never reached: every character seen anywhere.
    expect(shape.at(5)).toEqual(['0', 'a', 'i', 'q'].map((c) => c.codePointAt(0)))
    shape.addKey('b\u{1F600}')
    expect(shape.at(1)).toEqual([0x30, 0x1f600])
    expect(shape.at(0)).toEqual(['a', 'b', 'i', 'q'].map((c) => c.codePointAt(0)))
  })
})

describe('estimateRemaining and planSplit', () => {
  // 10,000 keys shaped like a dated log: logs/2026-MM-DD/host-NN.
  const keys: string[] = []
  for (let m = 1; m <= 12; m++)
    for (let d = 1; d <= 28; d++)
      for (let h = 0; h < 30; h++) keys.push(`logs/2026-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}/host-${String(h).padStart(2, '0')}`)
  keys.sort(compareKeys)
  const shape = shapeOf(keys)
  const page = (from: number, n: number) => ({ first: keys[from]!, last: keys[from + n - 1]!, n })

  it('cannot tell (Infinity, no split) before any key was seen', () => {
    const empty = new KeyShape()
    expect(estimateRemaining(page(0, 1000), keys[999]!, undefined, 'logs/', empty)).toBe(Infinity)
    expect(planSplit(page(0, 1000), keys[999]!, undefined, 'logs/', empty)).toBeUndefined()
  })

  it('estimates the keys left in a bounded range of a uniform key set within a quarter', () => {
    const cursor = keys[999]!
    for (const endAt of [2000, 5000, 9000]) {
      const end = keys[endAt]!
      const left = keysIn(keys, cursor, end).length
      const estimate = estimateRemaining(page(0, 1000), cursor, end, 'logs/', shape)
      expect(estimate, end).toBeGreaterThan(left * 0.75)
      expect(estimate, end).toBeLessThan(left * 1.5)
    }
    // Open-ended: the key space past the last character seen counts too, so it only grows.
    expect(estimateRemaining(page(0, 1000), cursor, undefined, 'logs/', shape)).toBeGreaterThan(keysIn(keys, cursor, undefined).length)
  })

  it('bisects a bounded range: each side holds a real share of its keys, and together all of them once', () => {
    const cursor = keys[999]!
    for (const endAt of [2000, 5000, 9000]) {
      const end = keys[endAt]!
      const plan = planSplit(page(0, 1000), cursor, end, 'logs/', shape, 100)
      expect(plan, end).toBeDefined()
      const { at } = plan!
      expect(at.startsWith('logs/')).toBe(true)
      expect(compareKeys(at, cursor)).toBeGreaterThan(0)
      expect(compareKeys(`${at}\u0000`, end)).toBeLessThan(0)
      const left = keysIn(keys, cursor, `${at}\u0000`).length
      const right = keysIn(keys, at, end).length
      expect(left + right).toBe(keysIn(keys, cursor, end).length)
      expect(left / (left + right), at).toBeGreaterThan(0.25)
      expect(right / (left + right), at).toBeGreaterThan(0.25)
    }
  })

  it('splits an open-ended range after its cursor, under the prefix', () => {
    const cursor = keys[999]!
    const plan = planSplit(page(0, 1000), cursor, undefined, 'logs/', shape)
    expect(plan).toBeDefined()
    expect(plan!.at.startsWith('logs/')).toBe(true)
    expect(compareKeys(plan!.at, cursor)).toBeGreaterThan(0)
    expect(keysIn(keys, cursor, `${plan!.at}\u0000`).length + keysIn(keys, plan!.at, undefined).length).toBe(keysIn(keys, cursor, undefined).length)
  })

  it('does not split a range estimated to hold fewer than four pages', () => {
    const cursor = keys[999]!
    const end = keys[3000]!
    expect(estimateRemaining(page(0, 1000), cursor, end, 'logs/', shape)).toBeLessThan(4000)
    expect(planSplit(page(0, 1000), cursor, end, 'logs/', shape)).toBeUndefined()
    // With 100-key pages the same range is worth splitting.
    expect(planSplit(page(0, 1000), cursor, end, 'logs/', shape, 100)).toBeDefined()
  })

  it('does not split keys whose common head is longer than the arithmetic looks (300 characters)', () => {
    const make = (headLength: number) => Array.from({ length: 5000 }, (_, i) => `deep/${'x'.repeat(headLength)}/${String(i).padStart(5, '0')}`)
    const deep = make(400)
    const deepSample = { first: deep[0]!, last: deep[999]!, n: 1000 }
    expect(planSplit(deepSample, deep[999]!, undefined, 'deep/', shapeOf(deep), 10)).toBeUndefined()
    expect(estimateRemaining(deepSample, deep[999]!, undefined, 'deep/', shapeOf(deep))).toBe(Infinity)
    // The same keys with a 200-character head are split.
    const shallow = make(200)
    expect(planSplit({ first: shallow[0]!, last: shallow[999]!, n: 1000 }, shallow[999]!, shallow[4000], 'deep/', shapeOf(shallow), 10)).toBeDefined()
  })
})
