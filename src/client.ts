/**
 * S3Client construction tuned for bulk work: endpoint and path style for S3-compatible
 * servers, checksum mode that they accept, and enough sockets for the configured concurrency.
 *
 * @example
 * ```ts
 * import { createClient } from 'bucketflow'
 * const client = createClient({ endpoint: 'http://127.0.0.1:7480', concurrency: 32 })
 * ```
 * @packageDocumentation
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { validateConcurrency } from './validate.js'

/** Options shared by {@link createClient} and `new Bucket(name, options)`. */
export interface ClientOptions {
  /** Use this client as it is; every other option here is then ignored. */
  client?: S3Client
  /**
   * S3 endpoint URL, e.g. `http://127.0.0.1:7480`. Defaults to `AWS_ENDPOINT_URL_S3`, then
   * `AWS_ENDPOINT_URL`, then AWS itself.
   */
  endpoint?: string
  /** Region. Defaults to `AWS_REGION`, `AWS_DEFAULT_REGION`, then `us-east-1`. */
  region?: string
  /** Credentials or a provider. Defaults to the SDK's chain (environment, profile, IMDS, ...). */
  credentials?: S3ClientConfig['credentials']
  /** Path-style URLs. Defaults to true for a non-AWS endpoint, false for AWS. */
  forcePathStyle?: boolean
  /**
   * Parallel requests the client must serve; sizes the socket pool (maxSockets =
   * max(64, 2 x concurrency)). Default 8.
   */
  concurrency?: number
  /** Attempts per request, including the first (SDK retry strategy). Default 3. */
  maxAttempts?: number
  /** Checksum mode. Defaults to WHEN_REQUIRED for a non-AWS endpoint, the SDK default for AWS. */
  checksums?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED'
}

/** The endpoint the options or the standard AWS environment point at, if any. */
export function resolveEndpoint(options: ClientOptions = {}): string | undefined {
  return options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? undefined
}

/** True when the endpoint is AWS's own (or none is set, which means AWS). */
export function isAwsEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return true
  try {
    const host = new URL(endpoint).hostname
    return host.endsWith('.amazonaws.com') || host.endsWith('.amazonaws.com.cn')
  } catch {
    return false
  }
}

/**
 * Build an S3Client. For a non-AWS endpoint it turns on path style and sets request/response
 * checksums to WHEN_REQUIRED (S3-compatible servers reject or mangle the SDK's default CRC32
 * aws-chunked uploads); for AWS it keeps the SDK's defaults.
 *
 * @example
 * ```ts
 * const client = createClient() // reads AWS_ENDPOINT_URL_S3, AWS_REGION, credentials chain
 * ```
 */
export function createClient(options: ClientOptions = {}): S3Client {
  if (options.client) return options.client
  const concurrency = options.concurrency ?? 8
  validateConcurrency(concurrency)
  const endpoint = resolveEndpoint(options)
  const aws = isAwsEndpoint(endpoint)
  const maxSockets = Math.max(64, concurrency * 2)
  const config: S3ClientConfig = {
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? !aws,
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets },
      httpsAgent: { keepAlive: true, maxSockets },
    },
  }
  if (endpoint) config.endpoint = endpoint
  if (options.credentials) config.credentials = options.credentials
  const checksums = options.checksums ?? (aws ? undefined : 'WHEN_REQUIRED')
  if (checksums) {
    config.requestChecksumCalculation = checksums
    config.responseChecksumValidation = checksums
  }
  return new S3Client(config)
}
