/**
 * Signing helpers of the `fast` transport: the request as the SDK's SigV4 signer sees it, key
 * encoding, the signing-key cache, and the payload constants and checksum of upload bodies.
 *
 * @packageDocumentation
 */
import * as zlib from 'node:zlib'
import { escapeUri } from '@smithy/core/protocols'
import type { SignatureV4 } from '@smithy/signature-v4'
import type { AwsCredentialIdentity } from '@smithy/types'
import type { Headers } from './headers.js'

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
export const crc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32

export function base64Crc32(bytes: Uint8Array): string {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(crc32!(bytes) >>> 0, 0)
  return b.toString('base64')
}

type SigningKeyFn = (credentials: AwsCredentialIdentity, region: string, shortDate: string, service?: string) => Promise<Uint8Array>

/**
 * Memoise the signer's derived signing key per credentials object, day, region and service.
 * The signer keeps its own cache but computes an HMAC of the secret per request to look it up;
 * the transport hands it the same credentials object until they are refreshed, so identity is
 * the key here. (A signer without this method simply keeps its own behaviour.)
 */
export function cacheSigningKeys(signer: SignatureV4): void {
  const target = signer as unknown as { getSigningKey?: SigningKeyFn }
  const original = target.getSigningKey
  if (typeof original !== 'function') return
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
