/** The little a stage needs to know about a bucket: its client, name, transport and default concurrency. */
import type { S3Client } from '@aws-sdk/client-s3'
import { clientSettings } from './client.js'
import { InvalidArgumentError } from './errors.js'
import { FastTransport } from './transport/fast.js'
import { SdkTransport } from './transport/sdk.js'
import type { Transport, TransportKind } from './transport/types.js'

/** A bucket as stages see it. `Bucket` satisfies it; so does `{ client, name }`. */
export interface BucketRef {
  readonly client: S3Client
  readonly name: string
  /** Default concurrency for parallel operations. */
  readonly concurrency?: number
  /**
   * The request layer the hot-path operations go through. Without one, the `sdk` transport over
   * `client` is used (or the one `BUCKETFLOW_TRANSPORT` names).
   */
  readonly transport?: Transport
}

/** Storage classes S3 knows. Servers may accept a subset. */
export type StorageClass =
  | 'STANDARD'
  | 'REDUCED_REDUNDANCY'
  | 'STANDARD_IA'
  | 'ONEZONE_IA'
  | 'INTELLIGENT_TIERING'
  | 'GLACIER'
  | 'GLACIER_IR'
  | 'DEEP_ARCHIVE'
  | 'OUTPOSTS'
  | 'SNOW'
  | 'EXPRESS_ONEZONE'

/** The environment variable that overrides the default transport (`fast` or `sdk`). */
export const TRANSPORT_ENV = 'BUCKETFLOW_TRANSPORT'

function checkKind(value: unknown, argument: string): TransportKind {
  if (value === 'fast' || value === 'sdk') return value
  throw new InvalidArgumentError(`Expected ${argument} to be 'fast' or 'sdk', got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`, {
    argument,
  })
}

/**
 * Which transport to use: the one asked for, else `BUCKETFLOW_TRANSPORT`, else `fallback`
 * (`fast` for a client bucketflow builds, `sdk` for one the caller brings).
 */
export function transportKind(asked: TransportKind | undefined, fallback: TransportKind): TransportKind {
  if (asked !== undefined) return checkKind(asked, 'transport')
  const env = process.env[TRANSPORT_ENV]
  if (env !== undefined && env !== '') return checkKind(env, TRANSPORT_ENV)
  return fallback
}

/** Options of {@link buildTransport}. */
export interface BuildTransportOptions {
  /** Requests in flight the callers keep; sizes the `fast` connection pool. */
  concurrency?: number
  /** Pass the client's connect and idle timeouts to the `fast` transport. @default true */
  timeouts?: boolean
}

/** Build the transport of `kind` over `client` (the `fast` one hands what it does not serve to an `sdk` one). */
export function buildTransport(client: S3Client, kind: TransportKind, options: BuildTransportOptions = {}): Transport {
  const sdk = new SdkTransport(client)
  if (kind === 'sdk') return sdk
  const { connectTimeout, idleTimeout } = clientSettings(client)
  return new FastTransport(client, {
    fallback: sdk,
    concurrency: Math.max(options.concurrency ?? 8, 8),
    ...(options.timeouts === false ? {} : { connectTimeoutMs: connectTimeout, idleTimeoutMs: idleTimeout }),
  })
}

const implicit = new WeakMap<S3Client, Transport>()

/**
 * The transport of a bucket: its own, or (for a plain `{ client, name }`) one per client, of the
 * kind `BUCKETFLOW_TRANSPORT` names, `sdk` when unset.
 *
 * @example
 * ```ts
 * const { Contents } = await transportOf(bucket).listObjectsV2({ Bucket: bucket.name })
 * ```
 */
export function transportOf(ref: BucketRef): Transport {
  if (ref.transport) return ref.transport
  let transport = implicit.get(ref.client)
  if (!transport) {
    transport = buildTransport(ref.client, transportKind(undefined, 'sdk'), {
      timeouts: false,
      ...(ref.concurrency === undefined ? {} : { concurrency: ref.concurrency }),
    })
    implicit.set(ref.client, transport)
  }
  return transport
}
