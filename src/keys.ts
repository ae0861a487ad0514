/** Key ordering. S3 lists keys in UTF-8 byte order, which is not JavaScript's UTF-16 order. */

function fix(c: number): number {
  // Surrogates (astral code points) sort after U+E000..U+FFFF in UTF-8 byte order.
  return c >= 0xd800 ? (c >= 0xe000 ? c - 0x800 : c + 0x2000) : c
}

/**
 * Compare two keys in UTF-8 byte order (S3's listing order). Negative, zero or positive.
 *
 * @example
 * ```ts
 * const keys = ['b', '\u{1F600}', '\uFF21', 'a']
 * keys.sort(compareKeys) // ['a', 'b', '\uFF21', '\u{1F600}']: as S3 lists them (plain sort() puts the emoji before U+FF21)
 * ```
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i)
    const cb = b.charCodeAt(i)
    if (ca !== cb) return fix(ca) - fix(cb)
  }
  return a.length - b.length
}
