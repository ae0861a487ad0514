/** Byte ranges: validation, Python slice semantics against a size, and the Range header. */
import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { bounds, emptyWhateverSize, normalizeRange, rangeHeader, resolveRange, type ByteRange } from '../../src/ranges.js'

/** Python's own answer: `bytes(range(size))[start:end]` as [first, end) offsets. */
function pythonSlice(size: number, start: number | undefined, end: number | undefined): [number, number] {
  const clamp = (v: number) => (v < 0 ? Math.max(0, size + v) : Math.min(v, size))
  const s = start === undefined ? 0 : clamp(start)
  const e = end === undefined ? size : clamp(end)
  return [s, Math.max(s, e)]
}

describe('resolveRange', () => {
  it.each<[ByteRange, number, [number, number]]>([
    [{}, 20, [0, 20]],
    [{ start: -5 }, 20, [15, 20]],
    [{ start: 0, end: 1024 }, 10, [0, 10]],
    [{ start: 3, end: 7 }, 10, [3, 7]],
    [{ start: 7, end: 3 }, 10, [7, 7]],
    [{ start: -3, end: -1 }, 10, [7, 9]],
    [{ start: -100 }, 10, [0, 10]],
    [{ start: 50 }, 10, [10, 10]],
    [{ end: -2 }, 10, [0, 8]],
    [{ offset: 18, length: 10 }, 20, [18, 20]],
    [{ offset: 2, length: 0 }, 20, [2, 2]],
    [{ offset: -4, length: 2 }, 20, [16, 18]],
    [{ offset: -4, length: 10 }, 20, [16, 20]],
    [{ offset: -30, length: 5 }, 20, [0, 0]],
    [{ offset: 5 }, 20, [5, 20]],
    [{ length: 4 }, 20, [0, 4]],
    [{ start: 0, end: 0 }, 0, [0, 0]],
  ])('%j of %i bytes is %j', (range, size, expected) => {
    expect(resolveRange(range, size)).toEqual(expected)
  })

  it('agrees with Python slices for every start and end around a small object', () => {
    const size = 6
    for (let start = -9; start <= 9; start++) {
      for (let end = -9; end <= 9; end++) {
        expect(resolveRange({ start, end }, size), `[${start}:${end}]`).toEqual(pythonSlice(size, start, end))
        // The header fetches a superset that starts at the slice's first byte.
        const slice = normalizeRange({ start, end })
        const [first, last] = resolveRange({ start, end }, size)
        if (slice !== undefined && last > first) {
          const header = rangeHeader(slice)
          if (header !== undefined) {
            const m = /^bytes=(-?\d+)-?(\d*)$/.exec(header)!
            const from = Number(m[1]) < 0 ? Math.max(0, size + Number(m[1])) : Number(m[1])
            const to = m[2] === '' || Number(m[2]) >= size ? size : Number(m[2]) + 1
            expect(from, header).toBe(first)
            expect(to, header).toBeGreaterThanOrEqual(last)
          } else expect(first).toBe(0)
        }
      }
    }
  })

  it.each<[ByteRange, string, RegExp]>([
    [{ start: 1.5 }, 'start', /Expected start to be an integer, got 1.5/],
    [{ end: Number.NaN }, 'end', /Expected end to be an integer, got NaN/],
    [{ offset: '3' as never }, 'offset', /Expected offset to be an integer, got "3"/],
    [{ length: -1 }, 'length', /Expected length to be an integer >= 0, got -1/],
    [{ length: 2 ** 60 }, 'length', /Expected length to be an integer/],
    [{ start: 1, length: 2 }, 'length', /either \{ start, end \} or \{ offset, length \}, got both forms/],
    [{ end: 1, offset: 2 }, 'offset', /got both forms/],
  ])('refuses %j naming %s', (range, argument, message) => {
    let caught: unknown
    try {
      resolveRange(range, 10, { bucket: 'b', key: 'k' })
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError)
    const err = caught as InvalidArgumentError
    expect(err.argument).toBe(argument)
    expect(err.message).toMatch(message)
    expect([err.bucket, err.key]).toEqual(['b', 'k'])
  })
})

describe('normalizeRange and rangeHeader', () => {
  it('reduces the whole object to undefined (no Range header)', () => {
    for (const whole of [{}, { start: 0 }, { offset: 0 }, { start: 0, end: undefined }] as ByteRange[]) {
      expect(normalizeRange(whole), JSON.stringify(whole)).toBeUndefined()
    }
    expect(normalizeRange(null as never)).toBeUndefined()
    expect(rangeHeader(undefined)).toBeUndefined()
  })

  it('turns offset/length into start/end', () => {
    expect(normalizeRange({ offset: 10, length: 5 })).toEqual({ start: 10, end: 15 })
    expect(normalizeRange({ offset: -10, length: 5 })).toEqual({ start: -10, end: -5 })
    expect(normalizeRange({ offset: -10, length: 10 })).toEqual({ start: -10 })
  })

  it.each<[{ start: number; end?: number }, string | undefined]>([
    [{ start: 10, end: 15 }, 'bytes=10-14'],
    [{ start: 10 }, 'bytes=10-'],
    [{ start: -5 }, 'bytes=-5'],
    [{ start: -5, end: -1 }, 'bytes=-5'],
    [{ start: 0, end: 1 }, 'bytes=0-0'],
    [{ start: 0, end: -1 }, undefined],
    [{ start: 4, end: -1 }, 'bytes=4-'],
  ])('%j -> %s', (slice, header) => {
    expect(rangeHeader(slice)).toBe(header)
  })

  it('knows which slices are empty whatever the size', () => {
    expect(emptyWhateverSize({ start: 0, end: 0 })).toBe(true)
    expect(emptyWhateverSize({ start: 5, end: 5 })).toBe(true)
    expect(emptyWhateverSize({ start: 5, end: 3 })).toBe(true)
    expect(emptyWhateverSize({ start: -2, end: -3 })).toBe(true)
    expect(emptyWhateverSize({ start: 5 })).toBe(false)
    expect(emptyWhateverSize({ start: 3, end: 5 })).toBe(false)
    // Depends on the size: [-5:3] is empty for 10 bytes, not for 6.
    expect(emptyWhateverSize({ start: -5, end: 3 })).toBe(false)
    expect(bounds({ start: -5, end: 3 }, 10)).toEqual([5, 5])
    expect(bounds({ start: -5, end: 3 }, 6)).toEqual([1, 3])
  })
})
