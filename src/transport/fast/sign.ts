/**
 * Signing helpers of the `fast` transport: the request as SigV4 sees it, key encoding, the
 * signing-key cache, the SigV4 header signature itself ({@link signV4}), and the payload
 * constants and checksum of upload bodies.
 *
 * The signing key is derived by the SDK's signer (`@smithy/signature-v4`, cached here per
 * credentials object and day); the canonical request, the string to sign and its HMAC are built
 * here in one pass, because the SDK's generic `sign()` (a cloned request, async hashing through
 * Uint8Array wrappers, several awaits) was a fifth of the client CPU of a small GET. Guarded by
 * AWS's published vectors and by a comparison with the SDK's `sign()` on varied requests
 * (test/unit/signing.test.ts); radosgw checks every signature of the integration tier.
 *
 * @packageDocumentation
 */
import { createHash, createHmac } from 'node:crypto'
import * as zlib from 'node:zlib'
import type { SignatureV4 } from '@smithy/signature-v4'
import type { AwsCredentialIdentity } from '@smithy/types'
import type { Headers } from './headers.js'
import { escapeUri } from '../../aws-sdk.cjs'

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
export const crc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32

export function base64Crc32(bytes: Uint8Array): string {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(crc32!(bytes) >>> 0, 0)
  return b.toString('base64')
}

export type SigningKeyFn = (credentials: AwsCredentialIdentity, region: string, shortDate: string, service?: string) => Promise<Uint8Array>

/**
 * Memoise the signer's derived signing key per credentials object, day, region and service.
 * The signer keeps its own cache but computes an HMAC of the secret per request to look it up;
 * the transport hands it the same credentials object until they are refreshed, so identity is
 * the key here. (A signer without this method simply keeps its own behaviour.)
 */
export function cacheSigningKeys(signer: SignatureV4): SigningKeyFn {
  const target = signer as unknown as { getSigningKey: SigningKeyFn }
  const original = target.getSigningKey
  const derive = original.bind(signer)
  const keys = new WeakMap<AwsCredentialIdentity, Map<string, Promise<Uint8Array>>>()
  target.getSigningKey = (credentials, region, shortDate, service) => {
    let byScope = keys.get(credentials)
    if (!byScope) keys.set(credentials, (byScope = new Map()))
    const scope = `${shortDate}/${region}/${service ?? ''}`
    let key = byScope.get(scope)
    if (!key) {
      key = derive(credentials, region, shortDate, service)
      byScope.set(scope, key)
      key.catch(() => byScope!.delete(scope))
      if (byScope.size > 4) byScope.delete(byScope.keys().next().value!)
    }
    return key
  }
  return target.getSigningKey
}

/** Percent-encode a key for the request path: RFC 3986 unreserved kept, '/' kept. */
export function encodeKey(key: string): string {
  return escapeUri(key).replace(/%2F/g, '/')
}

/** Where a request goes, as far as building and signing it is concerned. */
export interface RequestTarget {
  host: string
  protocol: string
  hostname: string
  port: number | undefined
  /** Path of the bucket ('/bucket' in path style, '' in virtual-hosted style). */
  basePath: string
  /** Headers the endpoint rules ask for. */
  headers: Headers
}

/**
 * The request as the signer sees it (path with the key percent-encoded once, query as a map,
 * every header to sign) and the path-and-query undici sends. Both encode with the signer's own
 * `escapeUri`, so what is signed is what is sent.
 */
export function signableRequest(
  target: RequestTarget,
  method: string,
  key: string | undefined,
  query: Record<string, string> | undefined,
  headers: Headers,
  payloadHash: string,
): {
  toSign: { method: string; protocol: string; hostname: string; port?: number; path: string; query: Record<string, string>; headers: Headers }
  path: string
} {
  const base = key === undefined ? target.basePath || '/' : `${target.basePath}/${encodeKey(key)}`
  let path = base
  if (query) {
    let qs = ''
    for (const name in query) qs += `${qs ? '&' : ''}${escapeUri(name)}=${escapeUri(query[name]!)}`
    path += `?${qs}`
  }
  const toSign = {
    method,
    protocol: target.protocol,
    hostname: target.hostname,
    ...(target.port === undefined ? {} : { port: target.port }),
    path: base,
    query: query ?? {},
    headers: { ...target.headers, ...headers, host: target.host, 'x-amz-content-sha256': payloadHash },
  }
  return { toSign, path }
}

/** A request to sign: what {@link signableRequest} builds. */
export interface SignableRequest {
  method: string
  /** The path, every segment percent-encoded once (S3 signs it as sent). */
  path: string
  query: Record<string, string>
  headers: Headers
}

/** Headers SigV4 never signs (the SDK signer's list), and the ones the signature itself sets. */
const UNSIGNABLE = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
])
const GENERATED = new Set(['authorization', 'x-amz-date', 'date'])

/** `20130524T000000Z` of a date (SigV4's long date). */
export function amzDate(date: Date): string {
  const iso = date.toISOString() // 2013-05-24T00:00:00.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`
}

/**
 * SigV4-sign an S3 request with a derived signing key: returns its headers, names lower-cased,
 * with `x-amz-date`, `x-amz-security-token` (session credentials) and `authorization` set. The canonical request
 * is the one the SDK's signer builds for S3 (path as given, no second encoding; query sorted by
 * encoded name; header names lower-cased and sorted, values trimmed with inner runs of spaces
 * folded; the payload hash as the `x-amz-content-sha256` header says).
 */
export function signV4(request: SignableRequest, credentials: AwsCredentialIdentity, region: string, longDate: string, signingKey: Uint8Array): Headers {
  // Names lower-cased: a name given twice in different cases is one header (the last value), so
  // what is sent is what is signed.
  const headers: Headers = {}
  for (const name in request.headers) {
    const value = request.headers[name]
    const lower = name.toLowerCase()
    if (value === undefined || GENERATED.has(lower)) continue
    headers[lower] = value
  }
  headers['x-amz-date'] = longDate
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken
  const canonical: [string, string][] = []
  let payloadHash = UNSIGNED_PAYLOAD
  for (const name in headers) {
    if (UNSIGNABLE.has(name) || name.startsWith('proxy-') || name.startsWith('sec-')) continue
    const value = headers[name]!
    if (name === 'x-amz-content-sha256') payloadHash = value
    canonical.push([
      name,
      /[\r\n\t]| {2}|^ | $/.test(value)
        ? value
            .replace(/[\r\n]/g, ' ')
            .replace(/[ \t]+/g, ' ')
            .replace(/^ | $/g, '')
        : value,
    ])
  }
  canonical.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const queryNames = Object.keys(request.query)
  let query = ''
  if (queryNames.length > 0) {
    const encoded = queryNames.filter((n) => n.toLowerCase() !== 'x-amz-signature').map((n) => [escapeUri(n), escapeUri(request.query[n]!)] as const)
    encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    query = encoded.map(([n, v]) => `${n}=${v}`).join('&')
  }
  let canonicalHeaders = ''
  let signedHeaders = ''
  for (const [name, value] of canonical) {
    canonicalHeaders += `${name}:${value}\n`
    signedHeaders += signedHeaders === '' ? name : `;${name}`
  }
  const canonicalRequest = `${request.method}\n${request.path}\n${query}\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`
  const scope = `${longDate.slice(0, 8)}/${region}/s3/aws4_request`
  const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex')
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
  return headers
}
