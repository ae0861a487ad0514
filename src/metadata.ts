/**
 * User metadata (`x-amz-meta-*`) as HTTP headers can carry it. A name must be an HTTP token
 * (letters, digits and ``!#$%&'*+-.^_`|~``); a value that a header cannot carry as it is (a
 * character outside printable US-ASCII, such as `é` or a tab, or spaces at either end or in a
 * row, which HTTP and request signing would trim or fold) is sent encoded as RFC 2047
 * (`=?UTF-8?B?<base64>?=`), as AWS S3 itself does when it returns such values. Values in that
 * form are decoded when read, so a value comes back as it was given, from AWS S3 (which stores
 * them decoded) and from servers that store the encoded text alike.
 *
 * @example
 * ```ts
 * await bucket.put('report.csv', 'reports/q1.csv', { metadata: { author: 'Zoë Müller' } })
 * ;(await bucket.head('reports/q1.csv')).metadata.author // 'Zoë Müller'
 * ```
 * @packageDocumentation
 */
import { InvalidArgumentError } from './errors.js'

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const PLAIN = /^(?:[!-~](?:[ ]?[!-~])*)?$/
const ENCODED = /^=\?UTF-8\?B\?([A-Za-z0-9+/]*={0,2})\?=$/i
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Metadata ready to be sent as headers: names checked, values that need it encoded (RFC 2047).
 * Throws InvalidArgumentError naming the first name that is not an HTTP token (or is another
 * name in other case), or a value that is not a string (or holds a lone surrogate).
 *
 * @example
 * ```ts
 * encodeMetadata({ city: 'Zürich' }) // { city: '=?UTF-8?B?WsO8cmljaA==?=' }
 * ```
 */
export function encodeMetadata(metadata: Record<string, string>): Record<string, string> {
  let out: Record<string, string> | undefined
  const seen = new Map<string, string>()
  for (const name of Object.keys(metadata)) {
    const lower = name.toLowerCase()
    const other = seen.get(lower)
    if (other !== undefined) {
      throw new InvalidArgumentError(`Metadata names ${JSON.stringify(other)} and ${JSON.stringify(name)} are one header (names are not case-sensitive)`, {
        argument: 'metadata',
      })
    }
    seen.set(lower, name)
    const value: unknown = metadata[name]
    if (!TOKEN.test(name)) {
      throw new InvalidArgumentError(
        `Metadata name ${JSON.stringify(name)} cannot be sent as an HTTP header: use letters, digits and - . _ (any of !#$%&'*+^\`|~ too)`,
        { argument: 'metadata' },
      )
    }
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(`Expected metadata ${JSON.stringify(name)} to be a string, got ${value === null ? 'null' : typeof value}`, {
        argument: 'metadata',
      })
    }
    if (LONE_SURROGATE.test(value)) {
      throw new InvalidArgumentError(`Metadata ${JSON.stringify(name)} holds a lone surrogate, which UTF-8 cannot carry`, { argument: 'metadata' })
    }
    if (PLAIN.test(value) && !ENCODED.test(value)) continue
    out ??= { ...metadata }
    out[name] = `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`
  }
  return out ?? metadata
}

/**
 * A metadata value as read from a header: an RFC 2047 `=?UTF-8?B?...?=` value decoded (when its
 * base64 is canonical and its bytes are UTF-8), any other as it is.
 *
 * @example
 * ```ts
 * decodeMetadataValue('=?UTF-8?B?WsO8cmljaA==?=') // 'Zürich'
 * decodeMetadataValue('plain') // 'plain'
 * ```
 */
export function decodeMetadataValue(value: string): string {
  const m = ENCODED.exec(value)
  if (!m) return value
  const bytes = Buffer.from(m[1]!, 'base64')
  // Only the one canonical base64 of UTF-8 bytes: anything else that merely looks encoded is kept as it came.
  if (bytes.toString('base64') !== m[1]) return value
  try {
    return UTF8.decode(bytes)
  } catch {
    return value
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** {@link decodeMetadataValue} of every value (the same object when none was encoded). */
export function decodeMetadata(metadata: Record<string, string>): Record<string, string> {
  let out: Record<string, string> | undefined
  for (const name of Object.keys(metadata)) {
    const value = metadata[name]!
    const decoded = decodeMetadataValue(value)
    if (decoded === value) continue
    out ??= { ...metadata }
    out[name] = decoded
  }
  return out ?? metadata
}
