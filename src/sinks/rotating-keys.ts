/**
 * Key rendering of a rotating log stream: the next object's key (from the template or the
 * naming function, always increasing), its Parquet error key, and the check that a segment
 * left in a spool names a key of this stream.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, IntegrityError } from '../errors.js'
import { compareKeys } from '../keys.js'
import { validateKey } from '../validate.js'
import { validateCompression } from '../compression.js'
import { renderKeyTemplate } from './log-keys.js'
import type { ObjectBuild, ObjectWriter } from './log-objects.js'
import type { Resolved } from './rotating-options.js'
import type { SegmentHeader, SpoolSegment } from './spool.js'

/** `name` with the compression suffix, unless it ends with it already. */
export function withSuffix(name: string, suffix: string): string {
  return suffix && !name.endsWith(suffix) ? `${name}${suffix}` : name
}

/** The key of the error object beside the Parquet object named `name`. */
export function errorKeyOf(errorPrefix: string, name: string): string {
  return `${errorPrefix}${name.endsWith('.parquet') ? name.slice(0, -'.parquet'.length) : name}.ndjson`
}

/** The name of one object: its key, its Parquet error key, its sequence number and time. */
export interface NextName {
  key: string
  errorKey: string | undefined
  seq: number
  time: number
}

/** The object being written: its name, and how it is being built. */
export interface OpenObject extends NextName {
  /** Object bytes so far. */
  bytes: number
  timer: NodeJS.Timeout | undefined
  /** Without a spool: the object being built. With a spool: the object built while spooling, if any. */
  writer?: ObjectWriter | undefined
  segment?: SpoolSegment
  /** Spool mode: the streamed object was dropped after a failure (HEAD before uploading from the file). */
  streamFailed?: boolean
}

/**
 * Names the objects of one stream: the time never goes back (a clock that does is held at its
 * last value), the sequence counts from 1, and each key must sort after the one before it.
 */
export class KeyNamer {
  readonly #bucket: string
  readonly #prefix: string
  readonly #o: Resolved
  #seq = 0
  #lastTime = 0
  #lastKey: string | undefined

  constructor(bucket: string, prefix: string, o: Resolved) {
    this.#bucket = bucket
    this.#prefix = prefix
    this.#o = o
  }

  /** The next object's name; throws InvalidArgumentError when its key does not sort after the last one. */
  next(): NextName {
    const now = Math.max(this.#o.clock(), this.#lastTime)
    this.#lastTime = now
    const seq = ++this.#seq
    const info = { time: new Date(now), seq }
    const name = this.#o.naming ? this.#o.naming(info) : renderKeyTemplate(this.#o.template!, info)
    const key = `${this.#prefix}${withSuffix(name, this.#o.suffix)}`
    validateKey(key, this.#bucket)
    if (this.#lastKey !== undefined && compareKeys(key, this.#lastKey) <= 0) {
      throw new InvalidArgumentError(`naming must produce increasing keys: ${JSON.stringify(key)} does not sort after ${JSON.stringify(this.#lastKey)}`, {
        bucket: this.#bucket,
        key,
        argument: 'naming',
      })
    }
    this.#lastKey = key
    const errorKey = this.#o.build.format === 'parquet' ? errorKeyOf(this.#o.errorPrefix, name) : undefined
    if (errorKey !== undefined) validateKey(errorKey, this.#bucket, 'errorPrefix')
    return { key, errorKey, seq, time: now }
  }
}

/**
 * A segment left in the spool is only trusted to name a key under this stream's prefix (its
 * error key under the prefix or `errorPrefix`) and a build this version knows: nothing is
 * written outside the destination, whatever the files say. Throws IntegrityError otherwise.
 */
export function checkRecoveredSegment(header: SegmentHeader, path: string, where: { bucket: string; prefix: string; errorPrefix: string }): void {
  const { bucket, prefix, errorPrefix } = where
  const build = header.build as unknown as Partial<ObjectBuild>
  const fail = (why: string) => {
    throw new IntegrityError(`Spool segment ${path} ${why}; it was not written by this stream (move it away to go on)`, { bucket, key: header.key })
  }
  if (typeof header.key !== 'string' || !header.key.startsWith(prefix) || header.key.length === prefix.length)
    fail(`names the key ${JSON.stringify(header.key)}, outside s3://${bucket}/${prefix}`)
  validateKey(header.key, bucket)
  if (build.format !== 'lines' && build.format !== 'parquet') fail(`has an unknown format ${JSON.stringify(build.format)}`)
  try {
    validateCompression(build.compression, build.level)
  } catch {
    fail(`has an unknown compression ${JSON.stringify(build.compression)} (level ${JSON.stringify(build.level)})`)
  }
  if (build.format === 'parquet') {
    const errorKey = build.errorKey
    if (typeof errorKey !== 'string' || !(errorKey.startsWith(prefix) || errorKey.startsWith(errorPrefix)))
      fail(`names the error key ${JSON.stringify(errorKey)}, outside the prefix and errorPrefix`)
    validateKey(errorKey, bucket)
    if (build.compression !== 'none') fail('has a compressed Parquet build')
  }
}
