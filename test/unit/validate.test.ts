/** Argument validation before any request: what was expected, what came, and which argument. */
import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { describeValue, validateBucketName, validateConcurrency, validateInteger, validateKey, validateSameLength } from '../../src/validate.js'

function thrown(fn: () => unknown): InvalidArgumentError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError)
    return err as InvalidArgumentError
  }
  throw new Error('expected a throw')
}

describe('validateBucketName', () => {
  it.each(['abc', 'my-bucket.logs', 'a'.repeat(63), '1bucket', 'b-1'])('accepts %s', (name) => {
    expect(() => validateBucketName(name)).not.toThrow()
  })

  it.each<[unknown, RegExp]>([
    ['ab', /3-63 characters/],
    ['a'.repeat(64), /3-63 characters/],
    ['Upper', /3-63 characters/],
    ['-start', /3-63 characters/],
    ['end-', /3-63 characters/],
    ['under_score', /3-63 characters/],
    ['two..dots', /two adjacent periods/],
    ['192.168.1.1', /formatted as an IP address/],
    [42, /Invalid bucket name 42: expected a string/],
    [undefined, /Invalid bucket name undefined: expected a string/],
  ])('refuses %j', (name, message) => {
    const err = thrown(() => validateBucketName(name))
    expect(err.message).toMatch(message)
    expect(err.argument).toBe('bucket')
    expect(err.code).toBe('InvalidArgument')
    expect(err.bucket).toBe(typeof name === 'string' ? name : undefined)
  })
})

describe('validateKey', () => {
  it('accepts 1 to 1024 UTF-8 bytes, counting bytes not characters', () => {
    expect(() => validateKey('a')).not.toThrow()
    expect(() => validateKey('x'.repeat(1024))).not.toThrow()
    expect(() => validateKey('é'.repeat(512))).not.toThrow()
    const err = thrown(() => validateKey('é'.repeat(513), 'b'))
    expect(err.message).toMatch(/Expected key to be 1 to 1024 UTF-8 bytes long, got 1026 bytes/)
    expect([err.argument, err.bucket, err.key]).toEqual(['key', 'b', 'é'.repeat(513)])
  })

  it('refuses the empty key and non-strings, naming the argument it was given', () => {
    expect(thrown(() => validateKey('')).message).toBe('Expected key to be 1 to 1024 UTF-8 bytes long, got 0 bytes ("")')
    const err = thrown(() => validateKey(7, undefined, 'destination'))
    expect(err.message).toBe('Expected destination to be a string, got 7')
    expect(err.argument).toBe('destination')
    expect(err.bucket).toBeUndefined()
  })
})

describe('integers', () => {
  it.each<[unknown, string]>([
    [0, 'Expected concurrency to be an integer >= 1, got 0'],
    [1.5, 'Expected concurrency to be an integer >= 1, got 1.5'],
    ['4', 'Expected concurrency to be an integer >= 1, got "4"'],
    [Number.NaN, 'Expected concurrency to be an integer >= 1, got NaN'],
    [Infinity, 'Expected concurrency to be an integer >= 1, got Infinity'],
    [null, 'Expected concurrency to be an integer >= 1, got null'],
  ])('validateConcurrency refuses %j', (value, message) => {
    const err = thrown(() => validateConcurrency(value))
    expect(err.message).toBe(message)
    expect(err.argument).toBe('concurrency')
  })

  it('checks both bounds when a maximum is given', () => {
    expect(() => validateInteger(10_000, 'parts', 1, 10_000)).not.toThrow()
    expect(thrown(() => validateInteger(10_001, 'parts', 1, 10_000)).message).toBe('Expected parts to be an integer between 1 and 10000, got 10001')
    expect(() => validateConcurrency(1)).not.toThrow()
  })

  it('compares list lengths', () => {
    expect(() => validateSameLength([1], ['a'], 'keys', 'files')).not.toThrow()
    const err = thrown(() => validateSameLength([1, 2], ['a'], 'keys', 'files'))
    expect(err.message).toBe('Expected keys and files to have the same length, got 2 and 1')
    expect(err.argument).toBe('files')
  })
})

describe('describeValue', () => {
  class Readable {}
  class Item {}
  it.each<[unknown, string]>([
    ['short', '"short"'],
    ['x'.repeat(100), JSON.stringify(`${'x'.repeat(77)}...`)],
    [function named() {}, 'a function (named)'],
    [() => {}, 'a function'],
    [Symbol('s'), 'Symbol(s)'],
    [10n, '10n'],
    [null, 'null'],
    [undefined, 'undefined'],
    [[1, 2, 3], 'an array of 3'],
    [new Date('2026-01-02T03:04:05Z'), 'a Date (2026-01-02T03:04:05.000Z)'],
    [new Date(Number.NaN), 'a Date (invalid)'],
    [{ a: 1 }, 'an object'],
    [Object.create(null), 'an object'],
    [new Readable(), 'a Readable'],
    [new Item(), 'an Item'],
  ])('%s', (value, text) => {
    expect(describeValue(value)).toBe(text)
  })

  it('survives an object whose constructor getter throws', () => {
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('no')
        },
      },
    )
    expect(describeValue(hostile)).toBe('an object')
  })
})
