import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { decodeMetadata, decodeMetadataValue, encodeMetadata } from '../../src/metadata.js'

/** What an HTTP header value can carry unchanged: printable US-ASCII, single spaces inside. */
const carriable = (v: string) => /^(?:[!-~](?: ?[!-~])*)?$/.test(v)

describe('metadata as headers', () => {
  it('leaves values a header carries as they are (the same object), and encodes the others so they decode back', () => {
    const plain = { a: 'x', b: 'with one space', c: '', d: '!#$%&()*+,-./:;<=>?@[]^_`{|}~' }
    expect(encodeMetadata(plain)).toBe(plain)
    const odd = ['Zoë', '東京', 'a\tb', ' lead', 'trail ', 'two  spaces', '\n', 'e\u0301', '🐈', '=?UTF-8?B?aGVsbG8=?=', '=?utf-8?b?aGk=?=']
    for (const value of odd) {
      const sent = encodeMetadata({ k: value }).k!
      expect(carriable(sent), value).toBe(true)
      expect(sent, value).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/]*={0,2}\?=$/)
      expect(decodeMetadataValue(sent), value).toBe(value)
    }
    // Random strings of every kind of character round-trip.
    const pool = ['a', ' ', '\t', 'é', '字', '😀', '=', '?', 'B', '\u0000', '~']
    for (let i = 0; i < 500; i++) {
      let v = ''
      for (let n = (i * 7) % 13; n > 0; n--) v += pool[(i * 31 + n * 17) % pool.length]
      const sent = encodeMetadata({ k: v }).k!
      expect(carriable(sent), JSON.stringify(v)).toBe(true)
      expect(decodeMetadataValue(sent)).toBe(v)
    }
  })

  it('decodes only whole RFC 2047 base64 UTF-8 words; anything else is kept as it is', () => {
    expect(decodeMetadataValue('=?UTF-8?B?WsO8cmljaA==?=')).toBe('Zürich')
    expect(decodeMetadataValue('=?UTF-8?Q?Z=C3=BCrich?=')).toBe('=?UTF-8?Q?Z=C3=BCrich?=')
    expect(decodeMetadataValue('x =?UTF-8?B?WsO8cmljaA==?=')).toBe('x =?UTF-8?B?WsO8cmljaA==?=')
    const none = { a: 'plain' }
    expect(decodeMetadata(none)).toBe(none)
    expect(decodeMetadata({ a: 'plain', b: '=?UTF-8?B?WsO8cmljaA==?=' })).toEqual({ a: 'plain', b: 'Zürich' })
    // Bytes that are not UTF-8, and base64 that is not the canonical one, are kept as they came.
    for (const odd of ['=?UTF-8?B?//79?=', '=?UTF-8?B?/w==?=', '=?UTF-8?B?QQ?=', '=?UTF-8?B?QR==?=', '=?UTF-8?B?QQ=?='])
      expect(decodeMetadataValue(odd), odd).toBe(odd)
    expect(decodeMetadataValue('=?UTF-8?B?QQ==?=')).toBe('A')
  })

  it('refuses names that are not HTTP tokens and values that are not strings, naming them', () => {
    for (const name of ['', 'a b', 'naïve', 'a:b', 'a/b', 'x\n']) {
      let err: unknown
      try {
        encodeMetadata({ [name]: 'v' })
      } catch (e) {
        err = e
      }
      expect(err, JSON.stringify(name)).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument).toBe('metadata')
      expect((err as Error).message).toContain(JSON.stringify(name))
    }
    expect(() => encodeMetadata({ n: 1 as unknown as string })).toThrow(/Expected metadata "n" to be a string, got number/)
    expect(() => encodeMetadata({ n: null as unknown as string })).toThrow(/got null/)
    expect(() => encodeMetadata({ s: 'a\ud800b' })).toThrow(/Metadata "s" holds a lone surrogate/)
    expect(() => encodeMetadata({ Color: 'red', color: 'blue' })).toThrow(/Metadata names "Color" and "color" are one header/)
    expect(encodeMetadata({ s: '😀' }).s).toBe(`=?UTF-8?B?${Buffer.from('😀').toString('base64')}?=`)
  })
})
