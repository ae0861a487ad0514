/**
 * The engine of the `fast` transport: the undici connection pool, the S3Client's settings,
 * credentials (cached until shortly before they expire), signing keys (derived by one SDK
 * signer per region) and retry strategy, and the one place a request is signed, sent, retried
 * and its error answer read. The operations (`../fast.ts`) build requests and read answers on
 * top of it.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import type { AwsCredentialIdentity, RetryStrategyV2 } from '@smithy/types'
import type { Dispatcher } from 'undici'
import { abortError, checkKey, checkTarget, TransportError } from '../error.js'
import { retryStrategyOf, withRetries } from '../retry.js'
import type { RequestBody, TransportTimeouts, UploadChecksum } from '../types.js'
import { errorAnswer } from './answers.js'
import { Agent, request } from './pool.js'
import { discard, networkError, shapeBodyErrors } from './body.js'
import { dateHeader, flatHeaders, type Answer, type Headers } from './headers.js'
import { amzDate, base64Crc32, cacheSigningKeys, crc32, signableRequest, signV4, type SignableRequest, type SigningKeyFn } from './sign.js'
import { resolveSettings, resolveTarget, type ClientSettings, type Target } from './target.js'
import { HttpResponse, Sha256, SignatureV4, getRetryAfterHint } from '../../aws-sdk.cjs'

/** Default connect timeout: 10 s. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** Default idle timeout (no bytes moving): 60 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000

/** Refresh credentials this long before they expire (the SDK's own window). */
const CREDENTIAL_REFRESH_MS = 5 * 60_000
/** Clock skew beyond which the signing clock is corrected from the server's Date. */
const SKEW_LIMIT_MS = 4 * 60_000
const CLOCK_SKEW_CODES = new Set([
  'AuthFailure',
  'InvalidSignatureException',
  'RequestExpired',
  'RequestInTheFuture',
  'RequestTimeTooSkewed',
  'SignatureDoesNotMatch',
])

/** Which checksum header uploads of bytes carry when the caller gives none. */
export type UploadChecksumMode = 'md5' | 'crc32' | 'auto'

/** Options of {@link FastEngine}: those of the `fast` transport but its fallback. */
export interface FastEngineOptions extends TransportTimeouts {
  /** Requests the callers keep in flight; sizes the connection pool (max(64, 2 x concurrency)). @default 8 */
  concurrency?: number
  /**
   * Checksum header for upload bodies given as bytes without one: `md5` (Content-MD5, checked by
   * every S3 server), `crc32` (`x-amz-checksum-crc32`, checked by AWS, stored with the object),
   * or `auto`: crc32 on AWS (when `zlib.crc32` exists), md5 elsewhere. @default 'auto'
   */
  checksum?: UploadChecksumMode
}

/** Sends the `fast` transport's requests. Built by `FastTransport`. */
export class FastEngine {
  readonly #client: S3Client
  readonly #agent: Agent
  readonly #checksum: UploadChecksumMode
  readonly #idleTimeoutMs: number
  #settings: Promise<ClientSettings> | undefined
  #strategy: Promise<RetryStrategyV2 | undefined> | undefined
  readonly #targets = new Map<string, Promise<Target | undefined>>()
  readonly #signingKeys = new Map<string, SigningKeyFn>()
  #credentials: AwsCredentialIdentity | undefined
  #credentialsPending: Promise<AwsCredentialIdentity> | undefined
  /** Whether the endpoint is AWS (known once the settings resolved; every request awaits them first). */
  #awsSync: boolean | undefined

  constructor(client: S3Client, options: FastEngineOptions) {
    this.#client = client
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
    this.#settings ??= resolveSettings(this.#client)
    // A configuration that failed to resolve (no region yet, say) is asked again next time.
    this.#settings.catch(() => {
      this.#settings = undefined
    })
    return this.#settings
  }

  /** The cached signing-key function of a region (its SDK signer is built once). */
  #signingKeysFor(region: string): SigningKeyFn {
    let keys = this.#signingKeys.get(region)
    if (!keys) {
      const signer = new SignatureV4({
        service: 's3',
        region,
        credentials: () => this.#credentialsNow(),
        sha256: Sha256,
        uriEscapePath: false,
        applyChecksum: false,
      })
      keys = cacheSigningKeys(signer)
      this.#signingKeys.set(region, keys)
    }
    return keys
  }

  /** Resolve where a bucket's requests go; undefined when they must go through the SDK. */
  #target(bucket: string): Promise<Target | undefined> {
    let target = this.#targets.get(bucket)
    if (!target) {
      target = this.#resolveSettings().then((s) => resolveTarget(this.#client, s, bucket, (region) => this.#signingKeysFor(region)))
      this.#targets.set(bucket, target)
      target.catch(() => this.#targets.delete(bucket))
    }
    return target
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
  async request<T>(
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
        const signedHeaders = await this.#sign(target, toSign)
        let answer: Answer
        try {
          const res = await request(this.#agent, {
            origin: target.origin,
            path,
            method: method as Dispatcher.HttpMethod,
            headers: signedHeaders,
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
        retryAfter: () =>
          lastAnswer && lastAnswer.status >= 400
            ? getRetryAfterHint(new HttpResponse({ statusCode: lastAnswer.status, headers: flatHeaders(lastAnswer.headers) }))
            : undefined,
      },
    )
  }

  /** SigV4 headers of a request, with the credentials of now and the signing key the SDK's signer derived. */
  async #sign(target: Target, request: SignableRequest): Promise<Headers> {
    const credentials = await this.#credentialsNow()
    if (typeof credentials?.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string') {
      throw new Error('Resolved credential object is not valid')
    }
    const longDate = amzDate(new Date(Date.now() + this.#clockOffset()))
    const key = await target.signingKey(credentials, target.signingRegion, longDate.slice(0, 8), 's3')
    return signV4(request, credentials, target.signingRegion, longDate, key)
  }

  /** Read an error answer into a TransportError, and correct the signing clock if it was off. */
  async #errorOf(answer: Answer, method: string, signal: AbortSignal | undefined): Promise<TransportError> {
    const err = await errorAnswer(answer, method, signal)
    if (CLOCK_SKEW_CODES.has(err.Code) || answer.status === 403) this.#correctClock(answer, err)
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

  /** Set the checksum header of an upload: the caller's, else md5 or crc32 of bytes (a stream goes with none). */
  uploadChecksum(input: UploadChecksum, body: RequestBody, headers: Headers): void {
    if (input.ContentMD5 !== undefined) headers['content-md5'] = input.ContentMD5
    if (input.ChecksumCRC32 !== undefined) headers['x-amz-checksum-crc32'] = input.ChecksumCRC32
    if (input.ContentMD5 !== undefined || input.ChecksumCRC32 !== undefined || body instanceof Readable) return
    const mode = this.#checksum
    const useCrc = crc32 !== undefined && (mode === 'crc32' || (mode === 'auto' && this.#awsSync === true))
    if (useCrc) headers['x-amz-checksum-crc32'] = base64Crc32(body)
    else headers['content-md5'] = createHash('md5').update(body).digest('base64')
  }

  /** The Content-Length of a body (a stream must come with its own). */
  bodyLength(body: RequestBody, given: number | undefined): number {
    if (body instanceof Readable) {
      if (given === undefined || !Number.isSafeInteger(given) || given < 0) {
        throw new TransportError('MissingContentLength', 'A stream body needs its ContentLength')
      }
      return given
    }
    return body.byteLength
  }

  /** Run `fast` on the fast path, or hand it to the fallback for a bucket this transport leaves to the SDK. */
  async route<T>(bucket: string, fast: (target: Target) => Promise<T>, viaSdk: () => Promise<T>): Promise<T> {
    checkTarget(bucket)
    const target = await this.#target(bucket)
    if (this.#awsSync === undefined) this.#awsSync = (await this.#resolveSettings()).aws
    return target ? fast(target) : viaSdk()
  }
}
