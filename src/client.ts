/**
 * S3Client construction tuned for bulk work: endpoint and path style for S3-compatible
 * servers, checksum mode that they accept, enough sockets for the configured concurrency,
 * connect and idle timeouts, and a check of the answers S3 may turn into errors after a `200`.
 *
 * @example
 * ```ts
 * import { createClient } from 'bucketflow'
 * const client = createClient({ endpoint: 'http://127.0.0.1:7480', concurrency: 32, idleTimeout: 30_000 })
 * ```
 * @packageDocumentation
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3'
import { validateConcurrency, validateInteger } from './validate.js'
import { installResultCheck } from './transport/result-check.js'
import { S3Client } from './aws-sdk.cjs'

/**
 * Default time to establish a TCP connection: 10 s.
 *
 * @example
 * ```ts
 * new Bucket('data', { connectTimeout: DEFAULT_CONNECT_TIMEOUT / 2 })
 * ```
 */
export const DEFAULT_CONNECT_TIMEOUT = 10_000
/**
 * Default time a request may go without a byte moving in either direction: 60 s (botocore's and
 * aws-cli's read timeout). Long server-side operations (a CompleteMultipartUpload of thousands of
 * parts, a large CopyObject) keep the connection alive with whitespace, so they are not idle.
 *
 * @example
 * ```ts
 * new Bucket('data', { idleTimeout: 2 * DEFAULT_IDLE_TIMEOUT }) // a very slow server
 * ```
 */
export const DEFAULT_IDLE_TIMEOUT = 60_000
/** Default attempts per request (the first included). */
export const DEFAULT_MAX_ATTEMPTS = 3

/** Options shared by {@link createClient} and `new Bucket(name, options)`. */
export interface ClientOptions {
  /**
   * Use this client as it is; every other option here is then ignored (timeouts and retries
   * are the client's own). bucketflow adds one middleware to it: the check that a
   * CompleteMultipartUpload, CopyObject or UploadPartCopy answered with its result, not an
   * `<Error>` inside a 200.
   */
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
  /**
   * Attempts per request, including the first (SDK retry strategy). A download body that breaks
   * may also resume this many times in a row without progress. Default 3.
   */
  maxAttempts?: number
  /** Checksum mode. Defaults to WHEN_REQUIRED for a non-AWS endpoint, the SDK default for AWS. */
  checksums?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED'
  /**
   * Milliseconds to wait for a TCP (and TLS) connection before the attempt fails and is retried.
   * An integer >= 1. @default 10000
   */
  connectTimeout?: number
  /**
   * Milliseconds a request may go without a byte moving (waiting for the answer, sending the
   * body, or reading it) before it is given up as stalled: a transient failure, retried like a
   * reset (a download resumes where it stopped). An integer >= 1. @default 60000
   */
  idleTimeout?: number
}

/** What bucketflow's own code needs to know of a client beyond what the SDK exposes. */
export interface ClientSettings {
  /** Milliseconds without a byte before a request (or a response body) counts as stalled. */
  idleTimeout: number
  /** Milliseconds to connect. */
  connectTimeout: number
  /** Attempts per request (and resumes in a row of a download body). */
  maxAttempts: number
  /** True when the SDK computes flexible checksums (CRC32/CRC64NVME) for uploads itself. */
  sdkChecksums: boolean
}

const settings = new WeakMap<S3Client, ClientSettings>()

/**
 * The settings bucketflow applies on top of an S3Client: those given to {@link createClient}, or
 * the defaults for a client built elsewhere (its checksum mode is read from its config).
 *
 * @example
 * ```ts
 * const { idleTimeout } = clientSettings(bucket.client) // 60000 unless set
 * ```
 */
export function clientSettings(client: S3Client): ClientSettings {
  let s = settings.get(client)
  if (!s) {
    const calc = (client.config as { requestChecksumCalculation?: unknown }).requestChecksumCalculation
    s = {
      idleTimeout: DEFAULT_IDLE_TIMEOUT,
      connectTimeout: DEFAULT_CONNECT_TIMEOUT,
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
      // A client made elsewhere: unless it was explicitly set to WHEN_REQUIRED, the SDK adds its
      // own checksums (its default since 3.729).
      sdkChecksums: calc !== 'WHEN_REQUIRED' && typeof calc !== 'function',
    }
    settings.set(client, s)
    installResultCheck(client)
  }
  return s
}

/**
 * The endpoint the options or the standard AWS environment point at, if any.
 *
 * @example
 * ```ts
 * resolveEndpoint({ endpoint: 'http://127.0.0.1:7480' }) // 'http://127.0.0.1:7480'
 * resolveEndpoint() // process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL, else undefined (AWS)
 * ```
 */
export function resolveEndpoint(options: ClientOptions = {}): string | undefined {
  return options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? undefined
}

/**
 * True when the endpoint is AWS's own (or none is set, which means AWS).
 *
 * @example
 * ```ts
 * isAwsEndpoint(undefined) // true
 * isAwsEndpoint('https://s3.eu-west-1.amazonaws.com') // true
 * isAwsEndpoint(resolveEndpoint({ endpoint: 'http://127.0.0.1:7480' })) // false
 * ```
 */
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
 * aws-chunked uploads; bucketflow sends Content-MD5 there instead); for AWS it keeps the SDK's
 * request checksums. Responses are verified by bucketflow itself (see `verify` on downloads),
 * so the SDK's own response validation is left to WHEN_REQUIRED everywhere: one pass over the
 * bytes, not two. Every request gets a connect and an idle timeout, and a CopyObject,
 * UploadPartCopy or CompleteMultipartUpload whose `200` carries an `<Error>` (or anything but
 * its result element) is a transient error the SDK retries.
 *
 * @example
 * ```ts
 * const client = createClient() // reads AWS_ENDPOINT_URL_S3, AWS_REGION, credentials chain
 * ```
 */
export function createClient(options: ClientOptions = {}): S3Client {
  if (options.client) {
    clientSettings(options.client)
    return options.client
  }
  const concurrency = options.concurrency ?? 8
  validateConcurrency(concurrency)
  const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT
  const idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  validateInteger(connectTimeout, 'connectTimeout', 1)
  validateInteger(idleTimeout, 'idleTimeout', 1)
  validateInteger(maxAttempts, 'maxAttempts', 1)
  const endpoint = resolveEndpoint(options)
  const aws = isAwsEndpoint(endpoint)
  const maxSockets = Math.max(64, concurrency * 2)
  const config: S3ClientConfig = {
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? !aws,
    maxAttempts,
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets },
      httpsAgent: { keepAlive: true, maxSockets },
      connectionTimeout: connectTimeout,
      // The socket's idle timer: no byte in either direction for this long fails the request
      // (before its answer: retried by the SDK; within a body: resumed by bucketflow).
      socketTimeout: idleTimeout,
    },
  }
  if (endpoint) config.endpoint = endpoint
  if (options.credentials) config.credentials = options.credentials
  const checksums = options.checksums ?? (aws ? undefined : 'WHEN_REQUIRED')
  if (checksums) config.requestChecksumCalculation = checksums
  config.responseChecksumValidation = 'WHEN_REQUIRED'
  const client = new S3Client(config)
  settings.set(client, { idleTimeout, connectTimeout, maxAttempts, sdkChecksums: checksums !== 'WHEN_REQUIRED' })
  installResultCheck(client)
  return client
}
