/**
 * The request layer's entry point: {@link createTransport} builds the `fast` or the `sdk`
 * transport over an S3Client. Internal for now; stages will take a transport instead of calling
 * the client themselves.
 *
 * @packageDocumentation
 */
import type { S3Client } from '@aws-sdk/client-s3'
import { FastTransport, type UploadChecksumMode } from './fast.js'
import { SdkTransport } from './sdk.js'
import type { Transport, TransportKind, TransportTimeouts } from './types.js'

export type { Transport, TransportKind } from './types.js'
export { TransportError } from './error.js'

/** Options of {@link createTransport}. */
export interface TransportOptions extends TransportTimeouts {
  /** `fast` (undici, the default) or `sdk` (the S3Client's own stack). @default 'fast' */
  kind?: TransportKind
  /** Requests in flight the callers keep; sizes the `fast` connection pool. @default 8 */
  concurrency?: number
  /** Checksum of upload bodies given as bytes without one (`fast`). @default 'auto' */
  checksum?: UploadChecksumMode
}

/**
 * Build a transport over `client`. `fast` sends the hot-path operations over undici with the
 * client's credentials, region, endpoint rules and retry strategy, and hands the buckets it does
 * not handle (dual-stack, FIPS, accelerate, S3 Express, access points) to an `sdk` transport
 * over the same client.
 *
 * @example
 * ```ts
 * const transport = createTransport(createClient({ endpoint: 'http://127.0.0.1:7480' }), { concurrency: 16 })
 * const { Contents } = await transport.listObjectsV2({ Bucket: 'logs', Prefix: '2026/' })
 * ```
 */
export function createTransport(client: S3Client, options: TransportOptions = {}): Transport {
  const timeouts: TransportTimeouts = {}
  if (options.connectTimeoutMs !== undefined) timeouts.connectTimeoutMs = options.connectTimeoutMs
  if (options.idleTimeoutMs !== undefined) timeouts.idleTimeoutMs = options.idleTimeoutMs
  const sdk = new SdkTransport(client, timeouts)
  if ((options.kind ?? 'fast') === 'sdk') return sdk
  return new FastTransport(client, {
    ...timeouts,
    fallback: sdk,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.checksum === undefined ? {} : { checksum: options.checksum }),
  })
}
