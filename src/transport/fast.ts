/**
 * The `fast` transport: S3 requests over undici (one keep-alive Agent sized from the
 * concurrency), signed by the SDK's own SigV4 signer (`@smithy/signature-v4` with node's native
 * SHA-256), bodies sent as they are (bytes or a stream of known length) with `UNSIGNED-PAYLOAD`
 * and a checksum header the server verifies (Content-MD5, or CRC32 on AWS), answers read by a
 * small streaming XML reader. Everything else comes from the S3Client it is built on:
 * credentials (its provider, cached until shortly before they expire), region, endpoint
 * resolution (its endpoint rules: virtual-hosted on AWS, path style elsewhere), the clock skew
 * correction and the retry strategy. Configurations it does not handle — dual-stack, FIPS,
 * accelerate, S3 Express directory buckets, access points and anything not signed with plain
 * SigV4 — are sent through the `sdk` transport, bucket by bucket.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import { Sha256 } from '@smithy/core/checksum'
import { HttpResponse } from '@smithy/core/protocols'
import { getRetryAfterHint } from '@smithy/core/retry'
import { SignatureV4 } from '@smithy/signature-v4'
import type { AwsCredentialIdentity, RetryStrategyV2 } from '@smithy/types'
import { Agent, type Dispatcher } from 'undici'
import {
  completeMultipartUploadXml,
  deleteObjectsXml,
  deleteResultReader,
  listMultipartUploadsReader,
  listObjectsV2Reader,
  parseErrorBody,
  readResultDocument,
  type DocumentReader,
  type ErrorDocument,
} from './documents.js'
import { abortError, checkKey, checkTarget, codeForStatus, TransportError } from './error.js'
import { deleteInBatchAndSingly } from './delete.js'
import { retryStrategyOf, withRetries } from './retry.js'
import type {
  AbortMultipartUploadInput,
  CompleteMultipartUploadInput,
  CompleteMultipartUploadOutput,
  CopyObjectInput,
  CopyObjectOutput,
  CreateMultipartUploadInput,
  CreateMultipartUploadOutput,
  DeleteObjectInput,
  DeleteObjectsInput,
  DeleteObjectsOutput,
  GetObjectInput,
  GetObjectOutput,
  HeadObjectInput,
  ListMultipartUploadsInput,
  ListMultipartUploadsOutput,
  ListObjectsV2Input,
  ListObjectsV2Output,
  ObjectHeaders,
  PutObjectInput,
  PutObjectOutput,
  RequestBody,
  RequestOptions,
  ResponseBody,
  Transport,
  TransportTimeouts,
  UploadChecksum,
  UploadPartCopyInput,
  UploadPartInput,
} from './types.js'
import { childText } from './xml.js'
import { discard, networkError, readText, shapeBodyErrors } from './fast/body.js'
import {
  checksumHeaders,
  conditionHeaders,
  copyOutput,
  copySourceHeaders,
  dateHeader,
  flatHeaders,
  header,
  newObjectHeaders,
  objectHeaders,
  queryOf,
  requestIdOf,
  type Answer,
  type Headers,
} from './fast/headers.js'
import { base64Crc32, cacheSigningKeys, crc32, EMPTY_SHA256, signableRequest, UNSIGNED_PAYLOAD, type RequestTarget } from './fast/sign.js'

export { networkError } from './fast/body.js'
export { cacheSigningKeys, encodeKey, signableRequest, type RequestTarget } from './fast/sign.js'

/** Default connect timeout: 10 s. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** Default idle timeout (no bytes moving): 60 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000

/** Refresh credentials this long before they expire (the SDK's own window). */
const CREDENTIAL_REFRESH_MS = 5 * 60_000
/** Listing and batch answers are read up to this many bytes (1000 keys of 1024 bytes url-encoded fit many times). */
const MAX_DOCUMENT = 64 * 1024 * 1024
/** Error answers are read up to this many bytes (they are small documents). */
const MAX_ERROR_BODY = 64 * 1024
/** Clock skew beyond which the signing clock is corrected from the server's Date. */
const SKEW_LIMIT_MS = 4 * 60_000
const CLOCK_SKEW_CODES = new Set(['AuthFailure', 'InvalidSignatureException', 'RequestExpired', 'RequestInTheFuture', 'RequestTimeTooSkewed', 'SignatureDoesNotMatch'])

/** Which checksum header uploads of bytes carry when the caller gives none. */
export type UploadChecksumMode = 'md5' | 'crc32' | 'auto'

/** Options of {@link FastTransport}. */
export interface FastTransportOptions extends TransportTimeouts {
  /** Requests the callers keep in flight; sizes the connection pool (max(64, 2 x concurrency)). @default 8 */
  concurrency?: number
  /**
   * Checksum header for upload bodies given as bytes without one: `md5` (Content-MD5, checked by
   * every S3 server), `crc32` (`x-amz-checksum-crc32`, checked by AWS, stored with the object),
   * or `auto`: crc32 on AWS (when `zlib.crc32` exists), md5 elsewhere. @default 'auto'
   */
  checksum?: UploadChecksumMode
  /** The transport for configurations this one does not handle (the `sdk` transport). */
  fallback: Transport
}


/** Where one bucket's requests go, and how they are signed. */
interface Target extends RequestTarget {
  origin: string
  signer: SignatureV4
  signingRegion: string
}

interface ClientSettings {
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

/** The S3 transport over undici. Build it with `createTransport`. */
export class FastTransport implements Transport {
  readonly kind = 'fast' as const
  readonly #client: S3Client
  readonly #agent: Agent
  readonly #fallback: Transport
  readonly #checksum: UploadChecksumMode
  readonly #idleTimeoutMs: number
  #settings: Promise<ClientSettings> | undefined
  #strategy: Promise<RetryStrategyV2 | undefined> | undefined
  readonly #targets = new Map<string, Promise<Target | undefined>>()
  readonly #signers = new Map<string, SignatureV4>()
  #credentials: AwsCredentialIdentity | undefined
  #credentialsPending: Promise<AwsCredentialIdentity> | undefined

  constructor(client: S3Client, options: FastTransportOptions) {
    this.#client = client
    this.#fallback = options.fallback
    this.#checksum = options.checksum ?? 'auto'
    const concurrency = options.concurrency ?? 8
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
    this.#agent = new Agent({
      connections: Math.max(64, concurrency * 2),
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
      connect: { timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS },
      headersTimeout: this.#idleTimeoutMs,
      bodyTimeout: this.#idleTimeoutMs,
    })
  }

  /** Which transport serves this bucket: `fast`, or `sdk` for configurations left to the SDK. */
  async kindFor(bucket: string): Promise<'fast' | 'sdk'> {
    return (await this.#target(bucket)) ? 'fast' : 'sdk'
  }

  async close(): Promise<void> {
    await this.#agent.close()
  }

  // ---- configuration from the S3Client ----

  #resolveSettings(): Promise<ClientSettings> {
    this.#settings ??= (async () => {
      const c = this.#client.config as unknown as Record<string, unknown>
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
    })()
    // A configuration that failed to resolve (no region yet, say) is asked again next time.
    this.#settings.catch(() => {
      this.#settings = undefined
    })
    return this.#settings
  }

  #signer(region: string): SignatureV4 {
    let signer = this.#signers.get(region)
    if (!signer) {
      signer = new SignatureV4({
        service: 's3',
        region,
        credentials: () => this.#credentialsNow(),
        sha256: Sha256,
        uriEscapePath: false,
        applyChecksum: false,
      })
      cacheSigningKeys(signer)
      this.#signers.set(region, signer)
    }
    return signer
  }

  /** Resolve where a bucket's requests go; undefined when they must go through the SDK. */
  #target(bucket: string): Promise<Target | undefined> {
    let target = this.#targets.get(bucket)
    if (!target) {
      target = this.#resolveTarget(bucket)
      this.#targets.set(bucket, target)
      target.catch(() => this.#targets.delete(bucket))
    }
    return target
  }

  async #resolveTarget(bucket: string): Promise<Target | undefined> {
    const s = await this.#resolveSettings()
    if (s.useDualstack || s.useFips || s.accelerate) return undefined
    // ARNs (access points, outposts, object lambda) and directory buckets: the SDK's business.
    if (bucket.startsWith('arn:') || bucket.endsWith('--x-s3') || bucket.endsWith('--xa-s3')) return undefined
    const c = this.#client.config as unknown as { endpointProvider?: (params: Record<string, unknown>) => { url: URL; properties?: Record<string, unknown>; headers?: Record<string, string[]> } }
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
      signer: this.#signer(signingRegion),
      signingRegion,
      headers,
    }
  }

  /** The cached credentials, refreshed from the client's provider shortly before they expire. */
  async #credentialsNow(): Promise<AwsCredentialIdentity> {
    const cached = this.#credentials
    if (cached && (cached.expiration === undefined || cached.expiration.getTime() - Date.now() > CREDENTIAL_REFRESH_MS)) return cached
    this.#credentialsPending ??= (async () => {
      try {
        const provider = (this.#client.config as unknown as { credentials: () => Promise<AwsCredentialIdentity> }).credentials
        const creds = await provider()
        this.#credentials = creds
        return creds
      } finally {
        this.#credentialsPending = undefined
      }
    })()
    return this.#credentialsPending
  }

  #retryStrategy(): Promise<RetryStrategyV2 | undefined> {
    this.#strategy ??= retryStrategyOf(this.#client)
    return this.#strategy
  }

  #clockOffset(): number {
    const offset = (this.#client.config as unknown as { systemClockOffset?: number }).systemClockOffset
    return typeof offset === 'number' && Number.isFinite(offset) ? offset : 0
  }

  // ---- one request ----

  /**
   * Send one request (with retries). `read` turns a successful answer into the result and must
   * consume or hand over its body; error answers are read here.
   */
  async #request<T>(
    target: Target,
    method: string,
    key: string | undefined,
    query: Record<string, string> | undefined,
    headers: Headers,
    body: RequestBody | string | undefined,
    payloadHash: string,
    signal: AbortSignal | undefined,
    read: (answer: Answer) => Promise<T>,
    okStatus: (status: number) => boolean = (s) => s >= 200 && s < 300,
  ): Promise<T> {
    if (key !== undefined) checkKey(key)
    const resendable = !(body instanceof Readable)
    const strategy = await this.#retryStrategy()
    let lastAnswer: Answer | undefined
    let sent = 0
    return withRetries(
      strategy,
      async () => {
        if (signal?.aborted) throw abortError(signal)
        const attempt = ++sent
        const { toSign, path } = signableRequest(target, method, key, query, headers, payloadHash)
        const signed = await target.signer.sign(toSign, { signingDate: new Date(Date.now() + this.#clockOffset()) })
        let answer: Answer
        try {
          const res = await this.#agent.request({
            origin: target.origin,
            path,
            method: method as Dispatcher.HttpMethod,
            headers: signed.headers,
            ...(body === undefined ? {} : { body: body as string | Buffer | Readable }),
            ...(signal ? { signal } : {}),
          })
          answer = { status: res.statusCode, headers: res.headers, body: res.body, attempt }
        } catch (err) {
          throw networkError(err, signal)
        }
        lastAnswer = answer
        if (okStatus(answer.status)) {
          shapeBodyErrors(answer.body, signal)
          try {
            return await read(answer)
          } catch (err) {
            discard(answer.body)
            throw err instanceof TransportError || (err as Error).name === 'AbortError' ? err : networkError(err, signal)
          }
        }
        throw await this.#errorOf(answer, method, signal)
      },
      {
        signal,
        resendable,
        retryAfter: () => (lastAnswer && lastAnswer.status >= 400 ? getRetryAfterHint(new HttpResponse({ statusCode: lastAnswer.status, headers: flatHeaders(lastAnswer.headers) })) : undefined),
      },
    )
  }

  /** Read an error answer into a TransportError (and correct the signing clock if it was off). */
  async #errorOf(answer: Answer, method: string, signal: AbortSignal | undefined): Promise<TransportError> {
    let doc: ErrorDocument | undefined
    if (method !== 'HEAD' && answer.status !== 304) {
      try {
        doc = parseErrorBody(await readText(answer.body, MAX_ERROR_BODY))
      } catch (err) {
        const e = networkError(err, signal)
        if (e.name === 'AbortError') throw e
      }
    } else {
      await answer.body.dump()
    }
    const requestId = doc?.RequestId ?? header(answer.headers, 'x-amz-request-id')
    const extended = header(answer.headers, 'x-amz-id-2')
    const code = doc?.Code ?? codeForStatus(answer.status)
    const err = new TransportError(code, doc?.Message ?? `${code} (HTTP ${answer.status})`, {
      status: answer.status,
      ...(requestId === undefined ? {} : { requestId }),
      ...(extended === undefined ? {} : { extendedRequestId: extended }),
      ...(doc?.Key === undefined ? {} : { key: doc.Key }),
      ...(doc?.BucketName === undefined ? {} : { bucket: doc.BucketName }),
    })
    if (CLOCK_SKEW_CODES.has(code) || answer.status === 403) this.#correctClock(answer, err)
    return err
  }

  #correctClock(answer: Answer, err: TransportError): void {
    const date = dateHeader(answer.headers, 'date')
    if (!date) return
    const offset = this.#clockOffset()
    const skew = date.getTime() - (Date.now() + offset)
    if (Math.abs(skew) < SKEW_LIMIT_MS) return
    ;(this.#client.config as unknown as { systemClockOffset: number }).systemClockOffset = date.getTime() - Date.now()
    if (CLOCK_SKEW_CODES.has(err.Code)) err.$metadata.clockSkewCorrected = true
  }

  /** A request whose answer is a small document that must have `expected` as its root. */
  #resultDocument<T>(answer: Answer, expected: string, build: (root: import('./xml.js').XmlElement) => T, allowEmpty = false): Promise<T> {
    return readText(answer.body, 16 * 1024 * 1024).then((text) => {
      if (allowEmpty && text.trim() === '') return build({ name: expected, text: '', children: [] })
      const doc = readResultDocument(text, expected)
      const requestId = header(answer.headers, 'x-amz-request-id')
      if (doc.kind === 'error') {
        throw new TransportError(doc.error.Code, doc.error.Message ?? `${doc.error.Code} (in a ${answer.status} answer)`, {
          status: answer.status,
          inBody: true,
          ...((doc.error.RequestId ?? requestId) === undefined ? {} : { requestId: (doc.error.RequestId ?? requestId)! }),
        })
      }
      if (doc.kind === 'invalid') {
        throw new TransportError('InvalidResponse', `Expected <${expected}> in the ${answer.status} answer, got ${doc.reason}`, {
          status: answer.status,
          inBody: true,
          ...(requestId === undefined ? {} : { requestId }),
        })
      }
      return build(doc.root)
    })
  }

  async #streamDocument<T>(answer: Answer, reader: DocumentReader<T>): Promise<T> {
    let size = 0
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_DOCUMENT) {
        discard(answer.body)
        throw new TransportError('InvalidResponse', `The ${answer.status} answer is larger than ${MAX_DOCUMENT} bytes: not an S3 listing`, { status: answer.status, inBody: true })
      }
      reader.push(chunk)
    }
    let done: ReturnType<DocumentReader<T>['end']>
    try {
      done = reader.end()
    } catch (err) {
      const requestId = header(answer.headers, 'x-amz-request-id')
      throw new TransportError('InvalidResponse', `Malformed ${answer.status} answer: ${(err as Error).message}`, {
        status: answer.status,
        inBody: true,
        ...(requestId === undefined ? {} : { requestId }),
        cause: err,
      })
    }
    if ('error' in done) {
      throw new TransportError(done.error.Code, done.error.Message ?? done.error.Code, {
        status: answer.status,
        inBody: true,
        ...(done.error.RequestId === undefined ? {} : { requestId: done.error.RequestId }),
      })
    }
    return done.result
  }

  #uploadChecksum(input: UploadChecksum, body: RequestBody, headers: Headers): void {
    if (input.ContentMD5 !== undefined) headers['content-md5'] = input.ContentMD5
    if (input.ChecksumCRC32 !== undefined) headers['x-amz-checksum-crc32'] = input.ChecksumCRC32
    if (input.ContentMD5 !== undefined || input.ChecksumCRC32 !== undefined || body instanceof Readable) return
    const mode = this.#checksum
    const useCrc = crc32 !== undefined && (mode === 'crc32' || (mode === 'auto' && this.#awsSync === true))
    if (useCrc) headers['x-amz-checksum-crc32'] = base64Crc32(body)
    else headers['content-md5'] = createHash('md5').update(body).digest('base64')
  }

  /** Whether the endpoint is AWS (known once the settings resolved; every request awaits them first). */
  #awsSync: boolean | undefined

  #bodyLength(body: RequestBody, given: number | undefined): number {
    if (body instanceof Readable) {
      if (given === undefined || !Number.isSafeInteger(given) || given < 0) {
        throw new TransportError('MissingContentLength', 'A stream body needs its ContentLength')
      }
      return given
    }
    return body.byteLength
  }

  /** Run `op` on the fast path, or hand it to the fallback for a bucket this transport leaves to the SDK. */
  async #route<T>(bucket: string, fast: (target: Target) => Promise<T>, viaSdk: () => Promise<T>): Promise<T> {
    checkTarget(bucket)
    const target = await this.#target(bucket)
    if (this.#awsSync === undefined) this.#awsSync = (await this.#resolveSettings()).aws
    return target ? fast(target) : viaSdk()
  }

  // ---- operations ----

  getObject(input: GetObjectInput, options: RequestOptions = {}): Promise<GetObjectOutput> {
    return this.#route(
      input.Bucket,
      (t) => {
        const headers: Headers = {}
        if (input.Range !== undefined) headers.range = input.Range
        conditionHeaders(input, headers)
        if (input.ChecksumMode !== undefined) headers['x-amz-checksum-mode'] = input.ChecksumMode
        const query = queryOf({ partNumber: input.PartNumber, versionId: input.VersionId })
        return this.#request(t, 'GET', input.Key, query, headers, undefined, EMPTY_SHA256, options.signal, async (a) => {
          const out = objectHeaders(a.headers) as GetObjectOutput
          out.StatusCode = a.status
          out.Body = a.body as unknown as ResponseBody
          return out
        })
      },
      () => this.#fallback.getObject(input, options),
    )
  }

  headObject(input: HeadObjectInput, options: RequestOptions = {}): Promise<ObjectHeaders> {
    return this.#route(
      input.Bucket,
      (t) => {
        const headers: Headers = {}
        conditionHeaders(input, headers)
        if (input.ChecksumMode !== undefined) headers['x-amz-checksum-mode'] = input.ChecksumMode
        const query = queryOf({ partNumber: input.PartNumber, versionId: input.VersionId })
        return this.#request(t, 'HEAD', input.Key, query, headers, undefined, EMPTY_SHA256, options.signal, async (a) => {
          await a.body.dump()
          return objectHeaders(a.headers)
        })
      },
      () => this.#fallback.headObject(input, options),
    )
  }

  putObject(input: PutObjectInput, options: RequestOptions = {}): Promise<PutObjectOutput> {
    return this.#route(
      input.Bucket,
      (t) => {
        const headers: Headers = { 'content-length': String(this.#bodyLength(input.Body, input.ContentLength)) }
        newObjectHeaders(input, headers)
        if (input.IfNoneMatch !== undefined) headers['if-none-match'] = input.IfNoneMatch
        if (input.IfMatch !== undefined) headers['if-match'] = input.IfMatch
        this.#uploadChecksum(input, input.Body, headers)
        return this.#request(t, 'PUT', input.Key, undefined, headers, input.Body, UNSIGNED_PAYLOAD, options.signal, (a) => this.#putOutput(a))
      },
      () => this.#fallback.putObject(input, options),
    )
  }

  async #putOutput(a: Answer): Promise<PutObjectOutput> {
    await a.body.dump()
    const out: PutObjectOutput = {}
    const etag = header(a.headers, 'etag')
    if (etag !== undefined) out.ETag = etag
    const version = header(a.headers, 'x-amz-version-id')
    if (version !== undefined) out.VersionId = version
    const requestId = header(a.headers, 'x-amz-request-id')
    if (requestId !== undefined) out.RequestId = requestId
    checksumHeaders(a.headers, out as unknown as Record<string, unknown>)
    return out
  }

  deleteObject(input: DeleteObjectInput, options: RequestOptions = {}): Promise<{ RequestId?: string }> {
    return this.#route(
      input.Bucket,
      (t) =>
        this.#request(t, 'DELETE', input.Key, queryOf({ versionId: input.VersionId }), input.IfMatch === undefined ? {} : { 'if-match': input.IfMatch }, undefined, EMPTY_SHA256, options.signal, async (a) => {
          await a.body.dump()
          return requestIdOf(a)
        }),
      () => this.#fallback.deleteObject(input, options),
    )
  }

  listObjectsV2(input: ListObjectsV2Input, options: RequestOptions = {}): Promise<ListObjectsV2Output> {
    return this.#route(
      input.Bucket,
      (t) => {
        const query: Record<string, string> = { 'list-type': '2', 'encoding-type': 'url' }
        if (input.Prefix !== undefined && input.Prefix !== '') query.prefix = input.Prefix
        if (input.Delimiter !== undefined && input.Delimiter !== '') query.delimiter = input.Delimiter
        if (input.StartAfter !== undefined && input.StartAfter !== '') query['start-after'] = input.StartAfter
        if (input.ContinuationToken !== undefined && input.ContinuationToken !== '') query['continuation-token'] = input.ContinuationToken
        if (input.MaxKeys !== undefined) query['max-keys'] = String(input.MaxKeys)
        if (input.FetchOwner) query['fetch-owner'] = 'true'
        return this.#request(t, 'GET', undefined, query, {}, undefined, EMPTY_SHA256, options.signal, async (a) => {
          const out = await this.#streamDocument(a, listObjectsV2Reader())
          const requestId = header(a.headers, 'x-amz-request-id')
          if (requestId !== undefined) out.RequestId = requestId
          return out
        })
      },
      () => this.#fallback.listObjectsV2(input, options),
    )
  }

  deleteObjects(input: DeleteObjectsInput, options: RequestOptions = {}): Promise<DeleteObjectsOutput> {
    return this.#route(
      input.Bucket,
      (t) =>
        deleteInBatchAndSingly(input, this, options, (batch) => {
          const xml = Buffer.from(deleteObjectsXml(batch, input.Quiet ?? true), 'utf8')
          const headers: Headers = {
            'content-type': 'application/xml',
            'content-length': String(xml.length),
            'content-md5': createHash('md5').update(xml).digest('base64'),
          }
          const sha = createHash('sha256').update(xml).digest('hex')
          return this.#request(t, 'POST', undefined, { delete: '' }, headers, xml, sha, options.signal, async (a) => {
            const out = await this.#streamDocument(a, deleteResultReader())
            const requestId = header(a.headers, 'x-amz-request-id')
            if (requestId !== undefined) out.RequestId = requestId
            return out
          })
        }),
      () => this.#fallback.deleteObjects(input, options),
    )
  }

  copyObject(input: CopyObjectInput, options: RequestOptions = {}): Promise<CopyObjectOutput> {
    return this.#route(
      input.Bucket,
      (t) => {
        const headers: Headers = {}
        copySourceHeaders(input.CopySource, input, headers)
        if (input.MetadataDirective !== undefined) headers['x-amz-metadata-directive'] = input.MetadataDirective
        newObjectHeaders(input, headers)
        return this.#request(t, 'PUT', input.Key, undefined, headers, undefined, EMPTY_SHA256, options.signal, (a) =>
          this.#resultDocument(a, 'CopyObjectResult', (root) => copyOutput(root, a)),
        )
      },
      () => this.#fallback.copyObject(input, options),
    )
  }

  createMultipartUpload(input: CreateMultipartUploadInput, options: RequestOptions = {}): Promise<CreateMultipartUploadOutput> {
    return this.#route(
      input.Bucket,
      (t) => {
        const headers: Headers = {}
        newObjectHeaders(input, headers)
        if (input.ChecksumAlgorithm !== undefined) headers['x-amz-checksum-algorithm'] = input.ChecksumAlgorithm
        return this.#request(t, 'POST', input.Key, { uploads: '' }, headers, undefined, EMPTY_SHA256, options.signal, (a) =>
          this.#resultDocument(a, 'InitiateMultipartUploadResult', (root) => {
            const uploadId = childText(root, 'UploadId')
            if (!uploadId) throw new TransportError('InvalidResponse', 'CreateMultipartUpload answered without an UploadId', { status: a.status, inBody: true })
            const out: CreateMultipartUploadOutput = { UploadId: uploadId, Attempts: a.attempt }
            const requestId = header(a.headers, 'x-amz-request-id')
            if (requestId !== undefined) out.RequestId = requestId
            return out
          }),
        )
      },
      () => this.#fallback.createMultipartUpload(input, options),
    )
  }

  uploadPart(input: UploadPartInput, options: RequestOptions = {}): Promise<PutObjectOutput> {
    return this.#route(
      input.Bucket,
      (t) => {
        const headers: Headers = { 'content-length': String(this.#bodyLength(input.Body, input.ContentLength)) }
        this.#uploadChecksum(input, input.Body, headers)
        const query = { partNumber: String(input.PartNumber), uploadId: input.UploadId }
        return this.#request(t, 'PUT', input.Key, query, headers, input.Body, UNSIGNED_PAYLOAD, options.signal, (a) => this.#putOutput(a))
      },
      () => this.#fallback.uploadPart(input, options),
    )
  }

  uploadPartCopy(input: UploadPartCopyInput, options: RequestOptions = {}): Promise<CopyObjectOutput> {
    return this.#route(
      input.Bucket,
      (t) => {
        const headers: Headers = {}
        copySourceHeaders(input.CopySource, input, headers)
        if (input.CopySourceRange !== undefined) headers['x-amz-copy-source-range'] = input.CopySourceRange
        const query = { partNumber: String(input.PartNumber), uploadId: input.UploadId }
        return this.#request(t, 'PUT', input.Key, query, headers, undefined, EMPTY_SHA256, options.signal, (a) =>
          this.#resultDocument(a, 'CopyPartResult', (root) => copyOutput(root, a)),
        )
      },
      () => this.#fallback.uploadPartCopy(input, options),
    )
  }

  completeMultipartUpload(input: CompleteMultipartUploadInput, options: RequestOptions = {}): Promise<CompleteMultipartUploadOutput> {
    return this.#route(
      input.Bucket,
      (t) => {
        const xml = Buffer.from(completeMultipartUploadXml(input.Parts), 'utf8')
        const headers: Headers = { 'content-type': 'application/xml', 'content-length': String(xml.length) }
        if (input.IfNoneMatch !== undefined) headers['if-none-match'] = input.IfNoneMatch
        const sha = createHash('sha256').update(xml).digest('hex')
        return this.#request(t, 'POST', input.Key, { uploadId: input.UploadId }, headers, xml, sha, options.signal, (a) =>
          this.#resultDocument(a, 'CompleteMultipartUploadResult', (root) => {
            const out: CompleteMultipartUploadOutput = {}
            const etag = childText(root, 'ETag')
            if (etag !== undefined) out.ETag = etag
            const location = childText(root, 'Location')
            if (location !== undefined) out.Location = location
            const version = header(a.headers, 'x-amz-version-id')
            if (version !== undefined) out.VersionId = version
            const requestId = header(a.headers, 'x-amz-request-id')
            if (requestId !== undefined) out.RequestId = requestId
            for (const name of ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256', 'ChecksumType'] as const) {
              const v = childText(root, name)
              if (v !== undefined) out[name] = v
            }
            checksumHeaders(a.headers, out as unknown as Record<string, unknown>)
            return out
          }),
        )
      },
      () => this.#fallback.completeMultipartUpload(input, options),
    )
  }

  abortMultipartUpload(input: AbortMultipartUploadInput, options: RequestOptions = {}): Promise<{ RequestId?: string }> {
    return this.#route(
      input.Bucket,
      (t) =>
        this.#request(t, 'DELETE', input.Key, { uploadId: input.UploadId }, {}, undefined, EMPTY_SHA256, options.signal, async (a) => {
          await a.body.dump()
          return requestIdOf(a)
        }),
      () => this.#fallback.abortMultipartUpload(input, options),
    )
  }

  listMultipartUploads(input: ListMultipartUploadsInput, options: RequestOptions = {}): Promise<ListMultipartUploadsOutput> {
    return this.#route(
      input.Bucket,
      (t) => {
        // No encoding-type here: radosgw encodes the keys then but does not say so.
        const query: Record<string, string> = { uploads: '' }
        if (input.Prefix !== undefined && input.Prefix !== '') query.prefix = input.Prefix
        if (input.Delimiter !== undefined && input.Delimiter !== '') query.delimiter = input.Delimiter
        if (input.KeyMarker !== undefined && input.KeyMarker !== '') query['key-marker'] = input.KeyMarker
        if (input.UploadIdMarker !== undefined && input.UploadIdMarker !== '') query['upload-id-marker'] = input.UploadIdMarker
        if (input.MaxUploads !== undefined) query['max-uploads'] = String(input.MaxUploads)
        return this.#request(t, 'GET', undefined, query, {}, undefined, EMPTY_SHA256, options.signal, async (a) => {
          const out = await this.#streamDocument(a, listMultipartUploadsReader())
          const requestId = header(a.headers, 'x-amz-request-id')
          if (requestId !== undefined) out.RequestId = requestId
          return out
        })
      },
      () => this.#fallback.listMultipartUploads(input, options),
    )
  }
}
