/**
 * The shapes of the `sdk` transport: SDK errors turned into TransportErrors, and the SDK's
 * outputs read into the transport's own (headers, write and copy results). Internal.
 *
 * @packageDocumentation
 */
import type { GetObjectCommand } from '@aws-sdk/client-s3'
import type { MetadataBearer } from '@smithy/types'
import { quoteEtag } from '../documents.js'
import { abortError, codeForStatus, describeContent, isHtml, notS3Message, TransportError } from '../error.js'
import { errorInBodyOf } from '../result-check.js'
import type { CopyObjectOutput, CopySource, ObjectHeaders, PutObjectOutput } from '../types.js'
import { decodeMetadata } from '../../metadata.js'

interface SdkError {
  name?: string
  Code?: string
  code?: string
  message?: string
  $metadata?: { httpStatusCode?: number; requestId?: string; extendedRequestId?: string; attempts?: number; totalRetryDelay?: number }
}

/** The names the SDK gives an error answer without an S3 error code. */
const GENERIC_NAMES = new Set(['NotFound', 'Forbidden', 'BadRequest', 'Error', 'Unknown', 'UnknownError'])

/**
 * Turn an SDK error into a TransportError (an abort stays an AbortError); `head`: the request was
 * a HEAD, whose answer has no body.
 */
export function fromSdkError(err: unknown, signal: AbortSignal | undefined, head = false): Error {
  const e = (err ?? {}) as SdkError & { cause?: unknown }
  if (signal?.aborted) return abortError(signal)
  if (e.name === 'AbortError') return err as Error
  if (err instanceof TransportError) return err
  const status = e.$metadata?.httpStatusCode
  let out: TransportError
  const inBody = errorInBodyOf(err)
  if (inBody) {
    // A 200 answer whose body was not the result: the SDK saw it as a 503.
    out = new TransportError(inBody.code, inBody.message, {
      status: 200,
      inBody: true,
      ...(e.$metadata?.requestId === undefined ? {} : { requestId: e.$metadata.requestId }),
      cause: err,
    })
  } else if (status === undefined) {
    const timeout = e.name === 'TimeoutError'
    const code = timeout ? 'TimeoutError' : (e.code ?? (e.name && e.name !== 'Error' ? e.name : 'NetworkError'))
    const errno = e.code ?? (timeout ? 'ETIMEDOUT' : undefined)
    out = new TransportError(code, e.message ?? String(err), { ...(errno === undefined ? {} : { code: errno }), cause: err })
  } else {
    let code = e.Code ?? e.name
    if (!code || code === 'Unknown' || code === 'UnknownError' || code === 'Error') code = codeForStatus(status)
    let message = e.message && e.message !== 'UnknownError' ? e.message : `${code} (HTTP ${status})`
    // An answer that is not S3's (see notS3Message): no S3 error code, and a body the SDK could
    // not read as XML or an HTML page, on a 4xx, a 501, or (HTML) a 2xx. A HEAD has no body to
    // tell; other 5xx stay what they are (retried).
    const type = (err as { $response?: { headers?: Record<string, string | undefined> } }).$response?.headers?.['content-type']
    const html = isHtml(type)
    const generic = e.Code === undefined && (e.name === undefined || GENERIC_NAMES.has(e.name))
    const unreadable = /Deserialization error|XML parse error/i.test(e.message ?? '')
    const statusFits = (status >= 400 && status < 500) || status === 501 || (html && status < 300)
    if (!head && generic && (unreadable || html) && statusFits) {
      code = 'UnexpectedResponse'
      message = notS3Message(status, describeContent(type))
    }
    out = new TransportError(code, message, {
      status,
      ...(e.$metadata?.requestId === undefined ? {} : { requestId: e.$metadata.requestId }),
      ...(e.$metadata?.extendedRequestId === undefined ? {} : { extendedRequestId: e.$metadata.extendedRequestId }),
      cause: err,
    })
  }
  if (e.$metadata?.attempts !== undefined) out.$metadata.attempts = e.$metadata.attempts
  if (e.$metadata?.totalRetryDelay !== undefined) out.$metadata.totalRetryDelay = e.$metadata.totalRetryDelay
  return out
}

/** The CopySource header value the SDK wants: `bucket/key` (key URI-encoded, '/' kept). */
export function copySourceOf(source: CopySource): string {
  const key = encodeURIComponent(source.Key)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/')
  return `${source.Bucket}/${key}${source.VersionId === undefined ? '' : `?versionId=${encodeURIComponent(source.VersionId)}`}`
}

/** `T` with every property that may be undefined made optional instead. */
type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>
}

/** Drop the undefined properties of `value` (in place): exact optional types, and SDK inputs without noise. */
export function defined<T extends object>(value: T): Defined<T> {
  for (const k of Object.keys(value)) if ((value as Record<string, unknown>)[k] === undefined) delete (value as Record<string, unknown>)[k]
  return value as unknown as Defined<T>
}

export function headersOf(out: Record<string, unknown> & MetadataBearer): ObjectHeaders {
  return defined({
    ContentLength: out.ContentLength as number | undefined,
    ContentRange: out.ContentRange as string | undefined,
    ETag: out.ETag as string | undefined,
    LastModified: out.LastModified as Date | undefined,
    VersionId: out.VersionId as string | undefined,
    ContentType: out.ContentType as string | undefined,
    ContentEncoding: out.ContentEncoding as string | undefined,
    ContentDisposition: out.ContentDisposition as string | undefined,
    ContentLanguage: out.ContentLanguage as string | undefined,
    CacheControl: out.CacheControl as string | undefined,
    Expires: (out.ExpiresString as string | undefined) ?? (out.Expires instanceof Date ? out.Expires.toUTCString() : undefined),
    StorageClass: out.StorageClass as string | undefined,
    Metadata: decodeMetadata((out.Metadata as Record<string, string> | undefined) ?? {}),
    PartsCount: out.PartsCount as number | undefined,
    Restore: out.Restore as string | undefined,
    AcceptRanges: out.AcceptRanges as string | undefined,
    DeleteMarker: out.DeleteMarker as boolean | undefined,
    RequestId: out.$metadata.requestId,
    ...checksumFields(out),
  })
}

export function writeOutput(out: Record<string, unknown> & MetadataBearer): PutObjectOutput {
  return defined({
    ETag: out.ETag as string | undefined,
    VersionId: out.VersionId as string | undefined,
    RequestId: out.$metadata.requestId,
    ...checksumFields(out),
  })
}

export function copyOutput(result: Record<string, unknown> | undefined, out: Record<string, unknown> & MetadataBearer): CopyObjectOutput {
  const r = result ?? {}
  return defined({
    ETag: quoteEtag(r.ETag as string | undefined),
    LastModified: r.LastModified as Date | undefined,
    ChecksumCRC32: r.ChecksumCRC32 as string | undefined,
    ChecksumCRC32C: r.ChecksumCRC32C as string | undefined,
    ChecksumCRC64NVME: r.ChecksumCRC64NVME as string | undefined,
    ChecksumSHA1: r.ChecksumSHA1 as string | undefined,
    ChecksumSHA256: r.ChecksumSHA256 as string | undefined,
    ChecksumType: r.ChecksumType as string | undefined,
    VersionId: out.VersionId as string | undefined,
    CopySourceVersionId: out.CopySourceVersionId as string | undefined,
    RequestId: out.$metadata.requestId,
    ServerSideEncryption: out.ServerSideEncryption as string | undefined,
    SSECustomerAlgorithm: out.SSECustomerAlgorithm as string | undefined,
    SSEKMSKeyId: out.SSEKMSKeyId as string | undefined,
  })
}

/**
 * Ask for the stored checksums (`x-amz-checksum-mode`) without the SDK validating them itself:
 * bucketflow's download stages check every byte against them, so the SDK's own pass would hash
 * each body twice (and raise its own error type on a mismatch).
 */
export function askChecksums(command: GetObjectCommand, mode: string): void {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> }
      if (request.headers) request.headers['x-amz-checksum-mode'] = mode
      return next(args)
    },
    { step: 'build', name: 'bucketflowChecksumMode' },
  )
}

/** The checksum and encryption fields an SDK output carries (undefined where absent). */
export function checksumFields(out: Record<string, unknown>): Record<(typeof CHECKSUM_FIELDS)[number], string | undefined> {
  return Object.fromEntries(CHECKSUM_FIELDS.map((name) => [name, out[name] as string | undefined])) as Record<
    (typeof CHECKSUM_FIELDS)[number],
    string | undefined
  >
}

const CHECKSUM_FIELDS = [
  'ChecksumCRC32',
  'ChecksumCRC32C',
  'ChecksumCRC64NVME',
  'ChecksumSHA1',
  'ChecksumSHA256',
  'ChecksumType',
  'ServerSideEncryption',
  'SSECustomerAlgorithm',
  'SSEKMSKeyId',
] as const
