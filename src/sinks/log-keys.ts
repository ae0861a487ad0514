/**
 * Key templates of rotating log objects: `dt={yyyy}-{MM}-{dd}/{HH}/{ts}-{seq}.log`, rendered
 * in UTC when an object is opened.
 *
 * Placeholders (all UTC, all fixed width):
 *
 * | placeholder | value | example |
 * |---|---|---|
 * | `{yyyy}` | year, 4 digits | `2026` |
 * | `{MM}` | month, 01-12 | `12` |
 * | `{dd}` | day of the month, 01-31 | `01` |
 * | `{HH}` | hour, 00-23 | `23` |
 * | `{mm}` | minute, 00-59 | `59` |
 * | `{ss}` | second, 00-59 | `07` |
 * | `{ts}` | the object's time, ISO 8601 basic, milliseconds | `20261201T235907.123Z` |
 * | `{seq}` | the stream's object counter, from 1, at least 6 digits | `000042` |
 *
 * Rules, checked when the stream is created: only these placeholders; `{ts}` and `{seq}`
 * exactly once each, `{seq}` after `{ts}` (so every key is unique and keys sort in the order
 * the objects were written); the date fields before `{ts}` go from the year down without a gap
 * (`{yyyy}`, then `{MM}`, then `{dd}`, ...), so the partitions too sort in time order and
 * `tail(prefix, { follow: 'rotation' })` can follow across them; the key does not end in `/`,
 * start with `/`, hold `//`, or have `.` or `..` path segments.
 *
 * @example
 * ```ts
 * const t = parseKeyTemplate('dt={yyyy}-{MM}-{dd}/{HH}/{ts}-{seq}.log')
 * renderKeyTemplate(t, { time: new Date(Date.UTC(2026, 11, 1, 23, 59, 7, 123)), seq: 42 })
 * // 'dt=2026-12-01/23/20261201T235907.123Z-000042.log'
 * ```
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js'
import { describeValue } from '../validate.js'

/** What a key is rendered from: when the object was opened, and its number in the stream. */
export interface LogObjectName {
  /** When the object was opened (never earlier than the previous object's time). */
  time: Date
  /** 1 for the stream's first object, then 2, 3, ... */
  seq: number
}

/**
 * The placeholders a key template may use (see the module documentation for their values).
 *
 * @example
 * ```ts
 * KEY_PLACEHOLDERS.map((p) => `{${p}}`).join(' ') // '{yyyy} {MM} {dd} {HH} {mm} {ss} {ts} {seq}'
 * ```
 */
export const KEY_PLACEHOLDERS = ['yyyy', 'MM', 'dd', 'HH', 'mm', 'ss', 'ts', 'seq'] as const
type Placeholder = (typeof KEY_PLACEHOLDERS)[number]
const TIME_FIELDS: readonly Placeholder[] = ['yyyy', 'MM', 'dd', 'HH', 'mm', 'ss']

/** A parsed key template: literal text and placeholders, in order. */
export interface KeyTemplate {
  readonly source: string
  readonly parts: readonly ({ text: string } | { field: Placeholder })[]
}

const pad = (n: number, width: number) => String(n).padStart(width, '0')

/** `20261201T235907.123Z`: ISO 8601 basic format, UTC, milliseconds (no ':' so it is URL- and file-safe). */
export function isoBasic(time: Date): string {
  return time.toISOString().replace(/[-:]/g, '')
}

/**
 * Parse and check a key template (see the module documentation for the rules). Throws
 * InvalidArgumentError (argument `key`) saying what is wrong.
 *
 * @example
 * ```ts
 * parseKeyTemplate('{yyyy}/{MM}/{ts}-{seq}.log') // ok
 * parseKeyTemplate('{HH}/{ts}-{seq}.log')        // throws: {HH} without {yyyy}, {MM} and {dd} before it
 * ```
 */
export function parseKeyTemplate(template: unknown, argument = 'key'): KeyTemplate {
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`Invalid key template ${describeValue(template)}: ${why}`, { argument })
  }
  if (typeof template !== 'string') fail('expected a string')
  const source = template as string
  if (source === '') fail('expected a non-empty string')
  const parts: ({ text: string } | { field: Placeholder })[] = []
  const re = /\{([^{}]*)\}|([{}])|([^{}]+)/g
  for (let m = re.exec(source); m; m = re.exec(source)) {
    if (m[3] !== undefined) parts.push({ text: m[3] })
    else if (m[2] !== undefined) fail(`unmatched "${m[2]}" at position ${m.index}`)
    else {
      const name = m[1]!
      if (!(KEY_PLACEHOLDERS as readonly string[]).includes(name)) {
        fail(`unknown placeholder {${name}}; known: ${KEY_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`)
      }
      parts.push({ field: name as Placeholder })
    }
  }
  const fields = parts.flatMap((p) => ('field' in p ? [p.field] : []))
  for (const required of ['ts', 'seq'] as const) {
    const n = fields.filter((f) => f === required).length
    if (n !== 1) fail(`{${required}} must appear exactly once (it makes keys unique and sorted), found ${n}`)
  }
  const tsAt = fields.indexOf('ts')
  if (fields.indexOf('seq') < tsAt) fail('{seq} must come after {ts}, so keys sort in the order objects were written')
  const before = fields.slice(0, tsAt)
  before.forEach((f, i) => {
    if (f !== TIME_FIELDS[i]) {
      fail(
        `the date fields before {ts} must go from the year down without a gap ({yyyy}, {MM}, {dd}, {HH}, {mm}, {ss}) so keys sort by time; found ${before.map((x) => `{${x}}`).join(' ')}`,
      )
    }
  })
  if (source.endsWith('/')) fail('a key cannot end with "/"')
  if (source.startsWith('/') || source.includes('//')) fail('empty path segments ("//" or a leading "/") make keys that folder tools mangle')
  const literal = parts.map((p) => ('text' in p ? p.text : 'x')).join('')
  if (literal.split('/').some((segment) => segment === '.' || segment === '..')) fail('"." and ".." path segments are not allowed')
  return { source, parts }
}

/**
 * Render a parsed template for one object.
 *
 * @example
 * ```ts
 * renderKeyTemplate(parseKeyTemplate('{yyyy}/{ts}-{seq}.gz'), { time: new Date(0), seq: 1 })
 * // '1970/19700101T000000.000Z-000001.gz'
 * ```
 */
export function renderKeyTemplate(template: KeyTemplate, info: LogObjectName): string {
  const t = info.time
  let out = ''
  for (const part of template.parts) {
    if ('text' in part) {
      out += part.text
      continue
    }
    switch (part.field) {
      case 'yyyy':
        out += pad(t.getUTCFullYear(), 4)
        break
      case 'MM':
        out += pad(t.getUTCMonth() + 1, 2)
        break
      case 'dd':
        out += pad(t.getUTCDate(), 2)
        break
      case 'HH':
        out += pad(t.getUTCHours(), 2)
        break
      case 'mm':
        out += pad(t.getUTCMinutes(), 2)
        break
      case 'ss':
        out += pad(t.getUTCSeconds(), 2)
        break
      case 'ts':
        out += isoBasic(t)
        break
      case 'seq':
        out += pad(info.seq, 6)
        break
    }
  }
  return out
}

/** The default template: `{ts}-{seq}.log`. */
export const DEFAULT_KEY_TEMPLATE = '{ts}-{seq}.log'

/**
 * The default object name after the prefix: `20240131T235959.123Z-000042.log` (the template
 * `{ts}-{seq}.log`).
 *
 * @example
 * ```ts
 * defaultLogName({ time: new Date(0), seq: 7 }) // '19700101T000000.000Z-000007.log'
 * ```
 */
export function defaultLogName(info: LogObjectName): string {
  return `${isoBasic(info.time)}-${pad(info.seq, 6)}.log`
}
