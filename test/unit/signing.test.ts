/**
 * The fast transport builds its canonical request and signature itself (signV4) with the signing
 * key the SDK's SigV4 signer derives. These tests hold it to AWS's published S3 examples and to
 * the SDK signer's own output on varied requests, and guard the request building (key and query
 * encoding) that feeds it. That radosgw accepts what is built is proven for every operation in
 * operations.test.ts.
 */
import { Sha256 } from '@smithy/core/checksum'
import { SignatureV4 } from '@smithy/signature-v4'
import { describe, expect, it } from 'vitest'
import { amzDate, cacheSigningKeys, encodeKey, signableRequest, signV4, type RequestTarget } from '../../src/transport/fast.js'

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

function s3Signer(): SignatureV4 {
  // The example credentials of the S3 API reference ("Signature Calculations for the
  // Authorization Header: Transferring Payload in a Single Chunk").
  return new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  })
}

const example: RequestTarget = {
  protocol: 'https:',
  hostname: 'examplebucket.s3.amazonaws.com',
  port: undefined,
  host: 'examplebucket.s3.amazonaws.com',
  basePath: '',
  headers: {},
}
const date = new Date('2013-05-24T00:00:00Z')

describe('SigV4 through the SDK signer', () => {
  it('matches AWS test suite vector get-vanilla', async () => {
    const signer = new SignatureV4({
      service: 'service',
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      sha256: Sha256,
      // The generic suite signs no payload-hash header (S3 requests do).
      applyChecksum: false,
    })
    const signed = await signer.sign(
      { method: 'GET', protocol: 'https:', hostname: 'example.amazonaws.com', path: '/', query: {}, headers: { host: 'example.amazonaws.com' } },
      { signingDate: new Date('2015-08-30T12:36:00Z') },
    )
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    )
  })

  it('matches the S3 reference example GET /test.txt with a Range, built as the fast transport builds it', async () => {
    const { toSign, path } = signableRequest(example, 'GET', 'test.txt', undefined, { range: 'bytes=0-9' }, EMPTY_SHA256)
    expect(path).toBe('/test.txt')
    const signed = await s3Signer().sign(toSign, { signingDate: date })
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    )
  })

  it('matches the S3 reference example GET /?max-keys=2&prefix=J (a listing query)', async () => {
    const { toSign, path } = signableRequest(example, 'GET', undefined, { 'max-keys': '2', prefix: 'J' }, {}, EMPTY_SHA256)
    expect(path).toBe('/?max-keys=2&prefix=J')
    const signed = await s3Signer().sign(toSign, { signingDate: date })
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    )
  })

  it('encodes keys once, RFC 3986 style, keeping slashes and dot segments (what S3 signs and stores)', () => {
    expect(encodeKey('a b/c+d%e')).toBe('a%20b/c%2Bd%25e')
    expect(encodeKey("!'()*~._-")).toBe('%21%27%28%29%2A~._-')
    expect(encodeKey('../x/./y//z')).toBe('../x/./y//z')
    expect(encodeKey('é\u0001?#')).toBe('%C3%A9%01%3F%23')
    const { path, toSign } = signableRequest(
      { ...example, basePath: '/bucket' },
      'PUT',
      'a b?/c',
      { partNumber: '1', uploadId: 'x/y+z' },
      {},
      'UNSIGNED-PAYLOAD',
    )
    expect(path).toBe('/bucket/a%20b%3F/c?partNumber=1&uploadId=x%2Fy%2Bz')
    expect(toSign.path).toBe('/bucket/a%20b%3F/c')
    expect(toSign.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD')
  })
})

describe('signing-key cache', () => {
  it('signs exactly as the plain signer, across days, regions and refreshed credentials', async () => {
    let creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
    const make = (region: string, cached: boolean) => {
      const signer = new SignatureV4({ service: 's3', region, credentials: async () => creds, sha256: Sha256, uriEscapePath: false, applyChecksum: false })
      if (cached) cacheSigningKeys(signer)
      return signer
    }
    const request = signableRequest(example, 'GET', 'test.txt', undefined, { range: 'bytes=0-9' }, EMPTY_SHA256).toSign
    for (const region of ['us-east-1', 'eu-west-1']) {
      const cached = make(region, true)
      for (const when of ['2013-05-24T00:00:00Z', '2013-05-24T23:59:59Z', '2013-05-25T00:00:01Z', '2013-05-24T10:00:00Z']) {
        for (const rotate of [false, true]) {
          if (rotate) creds = { ...creds, secretAccessKey: `${creds.secretAccessKey}x` }
          const a = await cached.sign(request, { signingDate: new Date(when) })
          const b = await make(region, false).sign(request, { signingDate: new Date(when) })
          expect(a.headers.authorization).toBe(b.headers.authorization)
        }
      }
    }
  })
})

describe('the transport signature (signV4)', () => {
  const reference = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
  const keyOf = async (credentials: typeof reference & { sessionToken?: string }, region: string, when: Date) => {
    const signer = new SignatureV4({ service: 's3', region, credentials, sha256: Sha256, uriEscapePath: false, applyChecksum: false })
    return cacheSigningKeys(signer)(credentials, region, amzDate(when).slice(0, 8), 's3')
  }

  it('matches the S3 reference examples (GET with a Range, a listing query)', async () => {
    const get = signableRequest(example, 'GET', 'test.txt', undefined, { range: 'bytes=0-9' }, EMPTY_SHA256).toSign
    expect(signV4(get, reference, 'us-east-1', amzDate(date), await keyOf(reference, 'us-east-1', date)).authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    )
    const list = signableRequest(example, 'GET', undefined, { 'max-keys': '2', prefix: 'J' }, {}, EMPTY_SHA256).toSign
    expect(signV4(list, reference, 'us-east-1', amzDate(date), await keyOf(reference, 'us-east-1', date)).authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    )
  })

  it('sends and signs a header given twice in different cases once, lower-cased, with the last value', async () => {
    const when = new Date('2026-12-02T10:00:00Z')
    const key = await keyOf(reference, 'us-east-1', when)
    const { toSign } = signableRequest(example, 'PUT', 'k', undefined, { 'X-Amz-Meta-V': 'a', 'x-amz-meta-v': 'w', 'Content-Type': 'text/plain' }, EMPTY_SHA256)
    const ours = signV4(toSign, reference, 'us-east-1', amzDate(when), key)
    expect(Object.keys(ours).filter((n) => n.toLowerCase() === 'x-amz-meta-v')).toEqual(['x-amz-meta-v'])
    expect(ours['x-amz-meta-v']).toBe('w')
    expect(ours['content-type']).toBe('text/plain')
    expect(ours.authorization).toContain('SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-v,')
    // The SDK signer, given the headers as they are sent, signs the same.
    const { toSign: sent } = signableRequest(example, 'PUT', 'k', undefined, { 'x-amz-meta-v': 'w', 'content-type': 'text/plain' }, EMPTY_SHA256)
    const sdk = await new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials: reference,
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: false,
    }).sign(sent, { signingDate: when })
    expect(ours.authorization).toBe(sdk.headers.authorization)
  })

  it('formats the long date as SigV4 does', () => {
    expect(amzDate(new Date('2013-05-24T00:00:00Z'))).toBe('20130524T000000Z')
    expect(amzDate(new Date('2026-12-31T23:59:59.999Z'))).toBe('20261231T235959Z')
  })

  it('signs exactly as the SDK signer does, header for header, across 400 varied requests', async () => {
    // A seeded generator: keys with unicode, spaces and reserved characters, queries with
    // encoded values, headers with runs of spaces and tabs, unsignable headers, session tokens.
    let seed = 20261202
    const rand = (n: number) => {
      // xorshift32: every bit varies (an LCG's low bits cycle and would skip cases).
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return (seed >>> 0) % n
    }
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!
    const keys = ['a', 'dir/sub/x.log', 'a b+c%d', 'é/ü?#&=', '../x/./y//z', "!'()*~._-", 'tab\there', 'k'.repeat(300)]
    const queries: (Record<string, string> | undefined)[] = [
      undefined,
      { 'list-type': '2', prefix: 'logs/ 2026/', 'continuation-token': 'a+b/c==', 'encoding-type': 'url' },
      { partNumber: '7', uploadId: 'x/y+z=' },
      { uploads: '' },
      { delete: '' },
      { 'max-keys': '1000', 'start-after': 'é' },
    ]
    const headerSets: Record<string, string>[] = [
      {},
      { range: 'bytes=0-9' },
      { 'content-md5': 'XrY7u+Ae7tCTyyK7j1rNww==', 'content-type': 'text/plain', 'content-length': '21' },
      { 'x-amz-meta-note': '  two  spaces \t and a tab ', 'if-match': '"abc"' },
      { 'user-agent': 'bucketflow', expect: '100-continue', 'x-amzn-trace-id': 'Root=1', 'proxy-authorization': 'x' },
      { 'x-amz-copy-source': '/b/a%20b', 'x-amz-metadata-directive': 'REPLACE', 'x-amz-storage-class': 'GLACIER' },
    ]
    const targets: RequestTarget[] = [
      example,
      { ...example, protocol: 'http:', hostname: '127.0.0.1', port: 7480, host: '127.0.0.1:7480', basePath: '/bucket' },
    ]
    const seen = new Set<number>()
    for (let i = 0; i < 400; i++) {
      const credentials = rand(3) === 0 ? { ...reference, sessionToken: `token/${i}+=` } : reference
      const region = pick(['us-east-1', 'eu-west-1', 'ap-southeast-2'])
      const when = new Date(Date.UTC(2026, rand(12), 1 + rand(28), rand(24), rand(60), rand(60), rand(1000)))
      const method = pick(['GET', 'PUT', 'POST', 'DELETE', 'HEAD'])
      const key = rand(5) === 0 ? undefined : pick(keys)
      const payload = pick([EMPTY_SHA256, 'UNSIGNED-PAYLOAD'])
      const headers = rand(headerSets.length)
      seen.add(headers)
      const { toSign } = signableRequest(pick(targets), method, key, pick(queries), { ...headerSets[headers] }, payload)
      const sdk = await new SignatureV4({ service: 's3', region, credentials, sha256: Sha256, uriEscapePath: false, applyChecksum: false }).sign(toSign, {
        signingDate: when,
      })
      const ours = signV4(toSign, credentials, region, amzDate(when), await keyOf(credentials, region, when))
      expect(ours).toEqual(sdk.headers)
    }
    expect(seen.size).toBe(headerSets.length)
  })
})
