/**
 * The key encoding of S3 Inventory CSV files and Batch Operations CSV manifests.
 *
 * Inventory CSV files carry URL-encoded keys; AWS documents only "URL-encoded", and reports have
 * been seen with a space written as `+`. The safe pair, which both kinds of reader agree on:
 * - encode: percent-encode every UTF-8 byte except the unreserved characters `A-Z a-z 0-9 - _ . ~`
 *   and `/` (so a space is `%20` and a `+` is `%2B`);
 * - decode: turn `+` into a space, then percent-decode (so `%2B` is a literal `+`).
 *
 * @example
 * ```ts
 * import { decodeInventoryKey, encodeManifestKey } from 'bucketflow'
 * encodeManifestKey('a b+c/ü.txt') // 'a%20b%2Bc/%C3%BC.txt'
 * decodeInventoryKey('a+b%2Bc/%C3%BC.txt') // 'a b+c/ü.txt'
 * ```
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js'
import { describeValue } from '../validate.js'

const HEX = '0123456789ABCDEF'
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function keep(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x2d || // -
    b === 0x5f || // _
    b === 0x2e || // .
    b === 0x7e || // ~
    b === 0x2f // /
  )
}

/**
 * Percent-encode a key for a Batch Operations CSV manifest (or an inventory-style CSV): every
 * UTF-8 byte except `A-Z a-z 0-9 - _ . ~ /` becomes `%XX`.
 *
 * @example
 * ```ts
 * encodeManifestKey('photos/2024 summer/a+b.jpg') // 'photos/2024%20summer/a%2Bb.jpg'
 * ```
 */
export function encodeManifestKey(key: string): string {
  if (typeof key !== 'string') throw new InvalidArgumentError(`Expected key to be a string, got ${describeValue(key)}`, { argument: 'key' })
  if (LONE_SURROGATE.test(key))
    throw new InvalidArgumentError(`Expected key to be well-formed UTF-16 (no lone surrogates), got ${describeValue(key)}`, { argument: 'key', key })
  const bytes = Buffer.from(key, 'utf8')
  let out = ''
  let from = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (keep(b)) continue
    if (i > from) out += bytes.toString('latin1', from, i)
    out += `%${HEX[b >> 4]}${HEX[b & 15]}`
    from = i + 1
  }
  return from === 0 ? key : out + bytes.toString('latin1', from)
}

/**
 * Decode a key from an S3 Inventory CSV file (or a Batch Operations manifest or report): `+` is a
 * space, then `%XX` sequences are UTF-8 bytes. Malformed escapes or bytes that are not UTF-8 raise
 * InvalidArgumentError.
 *
 * @example
 * ```ts
 * decodeInventoryKey('logs/2024+01/a%2Bb%25.gz') // 'logs/2024 01/a+b%.gz'
 * ```
 */
export function decodeInventoryKey(encoded: string): string {
  if (typeof encoded !== 'string') throw new InvalidArgumentError(`Expected an encoded key string, got ${describeValue(encoded)}`, { argument: 'encoded' })
  const plus = encoded.includes('+') ? encoded.replaceAll('+', ' ') : encoded
  if (!plus.includes('%')) return plus
  try {
    return decodeURIComponent(plus)
  } catch {
    throw new InvalidArgumentError(`Not a valid URL-encoded key (a % not followed by two hex digits, or bytes that are not UTF-8): ${describeValue(encoded)}`, {
      argument: 'encoded',
    })
  }
}
