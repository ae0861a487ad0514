/** Validation of arguments and options, before any request. */
import { InvalidArgumentError } from './errors.js'

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

/**
 * A short description of a value for error messages: a string (cut at 80 characters), a number,
 * `a function (name)`, `an array of 3`, `a Readable`; never a function's source or a large
 * object's contents.
 */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)
  if (typeof value === 'function') return value.name ? `a function (${value.name})` : 'a function'
  if (typeof value === 'symbol') return value.toString()
  if (typeof value === 'bigint') return `${value}n`
  if (value === null || value === undefined || typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (value instanceof Date) return `a Date (${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`
  let name: unknown
  try {
    name = (value as { constructor?: { name?: unknown } }).constructor?.name
  } catch {
    name = undefined
  }
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}` : 'an object'
}

/** Throws InvalidArgumentError unless `name` is a valid S3 bucket name. */
export function validateBucketName(name: unknown): asserts name is string {
  const bad = (why: string) =>
    new InvalidArgumentError(`Invalid bucket name ${show(name)}: ${why}`, {
      argument: 'bucket',
      ...(typeof name === 'string' ? { bucket: name } : {}),
    })
  if (typeof name !== 'string') throw bad('expected a string')
  if (!BUCKET_NAME.test(name)) throw bad('expected 3-63 characters of a-z, 0-9, "." and "-", starting and ending with a letter or digit')
  if (name.includes('..')) throw bad('two adjacent periods')
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) throw bad('formatted as an IP address')
}

/** Throws InvalidArgumentError unless `key` is 1 to 1024 UTF-8 bytes long. */
export function validateKey(key: unknown, bucket?: string, argument = 'key'): asserts key is string {
  const where = bucket === undefined ? {} : { bucket }
  if (typeof key !== 'string') {
    throw new InvalidArgumentError(`Expected ${argument} to be a string, got ${show(key)}`, { argument, ...where })
  }
  const bytes = Buffer.byteLength(key, 'utf8')
  if (bytes === 0 || bytes > 1024) {
    throw new InvalidArgumentError(`Expected ${argument} to be 1 to 1024 UTF-8 bytes long, got ${bytes} bytes (${show(key)})`, { argument, key, ...where })
  }
}

/** Throws InvalidArgumentError unless `value` is an integer >= 1. */
export function validateConcurrency(value: unknown, argument = 'concurrency'): asserts value is number {
  validateInteger(value, argument, 1)
}

/** Throws InvalidArgumentError unless `value` is an integer >= min (and <= max when given). */
export function validateInteger(value: unknown, argument: string, min: number, max?: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`
    throw new InvalidArgumentError(`Expected ${argument} to be an integer ${range}, got ${show(value)}`, { argument })
  }
}

/** Throws InvalidArgumentError unless both lists have the same length. */
export function validateSameLength(a: readonly unknown[], b: readonly unknown[], aName: string, bName: string): void {
  if (a.length !== b.length) {
    throw new InvalidArgumentError(`Expected ${aName} and ${bName} to have the same length, got ${a.length} and ${b.length}`, { argument: bName })
  }
}

export { show as describeValue }
