/**
 * Where the `fast` transport sends a bucket's requests: the S3Client's settings (region,
 * endpoint, the options it leaves to the SDK) and its endpoint rules, read once per bucket.
 *
 * @packageDocumentation
 */
import type { S3Client } from '@aws-sdk/client-s3'
import type { Headers } from './headers.js'
import type { RequestTarget, SigningKeyFn } from './sign.js'

/** Where one bucket's requests go, and how they are signed. */
export interface Target extends RequestTarget {
  origin: string
  /** The signing key of credentials, region and day (derived by the SDK's signer, cached). */
  signingKey: SigningKeyFn
  signingRegion: string
}

export interface ClientSettings {
  region: string
  endpoint: string | undefined
  forcePathStyle: boolean
  useDualstack: boolean
  useFips: boolean
  accelerate: boolean
  useGlobalEndpoint: boolean | undefined
  disableMultiregionAccessPoints: boolean | undefined
  aws: boolean
}

async function resolveValue<T>(value: unknown): Promise<T | undefined> {
  if (typeof value === 'function') return (await (value as () => Promise<T>)()) ?? undefined
  return value as T | undefined
}

function endpointUrl(endpoint: { protocol?: string; hostname?: string; port?: number; path?: string } | undefined): string | undefined {
  if (!endpoint?.hostname) return undefined
  const host = endpoint.hostname.includes(':') && !endpoint.hostname.startsWith('[') ? `[${endpoint.hostname}]` : endpoint.hostname
  return `${endpoint.protocol ?? 'https:'}//${host}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path && endpoint.path !== '/' ? endpoint.path : ''}`
}

/** Read the settings the transport needs from the client's (possibly lazy) configuration. */
export async function resolveSettings(client: S3Client): Promise<ClientSettings> {
  const c = client.config as unknown as Record<string, unknown>
  const region = (await resolveValue<string>(c.region)) ?? 'us-east-1'
  const endpoint = endpointUrl(await resolveValue(c.endpoint))
  return {
    region,
    endpoint,
    forcePathStyle: c.forcePathStyle === true,
    useDualstack: (await resolveValue<boolean>(c.useDualstackEndpoint)) === true,
    useFips: (await resolveValue<boolean>(c.useFipsEndpoint)) === true,
    accelerate: c.useAccelerateEndpoint === true,
    useGlobalEndpoint: (await resolveValue<boolean>(c.useGlobalEndpoint)) ?? undefined,
    disableMultiregionAccessPoints: (await resolveValue<boolean>(c.disableMultiregionAccessPoints)) ?? undefined,
    aws: endpoint === undefined || /\.amazonaws\.com(\.cn)?$/.test(new URL(endpoint).hostname),
  }
}

/**
 * Resolve where a bucket's requests go with the client's endpoint rules; undefined when they
 * must go through the SDK (dual-stack, FIPS, accelerate, ARNs, directory buckets, any signing
 * but plain SigV4 for s3).
 */
export function resolveTarget(client: S3Client, s: ClientSettings, bucket: string, signingKeysFor: (region: string) => SigningKeyFn): Target | undefined {
  if (s.useDualstack || s.useFips || s.accelerate) return undefined
  // ARNs (access points, outposts, object lambda) and directory buckets: the SDK's business.
  if (bucket.startsWith('arn:') || bucket.endsWith('--x-s3') || bucket.endsWith('--xa-s3')) return undefined
  const c = client.config as unknown as {
    endpointProvider?: (params: Record<string, unknown>) => { url: URL; properties?: Record<string, unknown>; headers?: Record<string, string[]> }
  }
  if (typeof c.endpointProvider !== 'function') return undefined
  const params: Record<string, unknown> = {
    Bucket: bucket,
    Region: s.region,
    UseFIPS: false,
    UseDualStack: false,
    Accelerate: false,
    ForcePathStyle: s.forcePathStyle,
  }
  if (s.endpoint !== undefined) params.Endpoint = s.endpoint
  if (s.useGlobalEndpoint !== undefined) params.UseGlobalEndpoint = s.useGlobalEndpoint
  if (s.disableMultiregionAccessPoints !== undefined) params.DisableMultiRegionAccessPoints = s.disableMultiregionAccessPoints
  let resolved: ReturnType<NonNullable<typeof c.endpointProvider>>
  try {
    resolved = c.endpointProvider(params)
  } catch {
    // The endpoint rules refuse this configuration: the SDK will say why.
    return undefined
  }
  const schemes = (resolved.properties?.authSchemes ?? []) as { name?: string; signingName?: string; signingRegion?: string }[]
  const scheme = schemes[0]
  if (resolved.properties?.backend !== undefined) return undefined
  if (scheme && (scheme.name !== 'sigv4' || (scheme.signingName ?? 's3') !== 's3')) return undefined
  const url = new URL(resolved.url.toString())
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  if (url.search !== '') return undefined
  const signingRegion = scheme?.signingRegion ?? s.region
  const headers: Headers = {}
  for (const [k, v] of Object.entries(resolved.headers ?? {})) headers[k.toLowerCase()] = v.join(',')
  const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return {
    origin: url.origin,
    host: url.host,
    protocol: url.protocol,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port === '' ? undefined : Number(url.port),
    basePath,
    signingKey: signingKeysFor(signingRegion),
    signingRegion,
    headers,
  }
}
