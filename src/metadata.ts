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

/**
 * Metadata ready to be sent as headers: names checked, values that need it encoded (RFC 2047).
 * Throws InvalidArgumentError naming the first name that is not an HTTP token or a value that
 * is not a string.
 *
 * @example
 * ```ts
 * encodeMetadata({ city: 'Zürich' }) // { city: '=?UTF-8?B?WsO8cmljaA==?=' }
 * ```
 */
export function encodeMetadata(metadata: Record<string, string>): Record<string, string> {
  let out: Record<string, string> | undefined
  for (const name of Object.keys(metadata)) {
    const value: unknown = metadata[name]
    if (!TOKEN.test(name)) {
      throw new InvalidArgumentError(`Metadata name ${JSON.stringify(name)} cannot be sent as an HTTP header: use letters, digits and - _ . only`, {
        argument: 'metadata',
      })
    }
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(`Expected metadata ${JSON.stringify(name)} to be a string, got ${value === null ? 'null' : typeof value}`, {
        argument: 'metadata',
      })
    }
    if (PLAIN.test(value) && !ENCODED.test(value)) continue
    out ??= { ...metadata }
    out[name] = `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`
  }
  return out ?? metadata
}

/**
 * A metadata value as read from a header: an RFC 2047 `=?UTF-8?B?...?=` value decoded, any
 * other as it is.
 *
 * @example
 * ```ts
 * decodeMetadataValue('=?UTF-8?B?WsO8cmljaA==?=') // 'Zürich'
 * decodeMetadataValue('plain') // 'plain'
 * ```
 */
export function decodeMetadataValue(value: string): string {
  const m = ENCODED.exec(value)
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : value
}

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
