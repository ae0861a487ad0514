/**
 * The `fast` transport: S3 requests over undici (one keep-alive Agent sized from the
 * concurrency), SigV4-signed in one pass (fast/sign.ts) with the signing key the SDK's own
 * signer (`@smithy/signature-v4`) derives, bodies sent as they are (bytes or a stream of known length) with `UNSIGNED-PAYLOAD`
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
import type { S3Client } from '@aws-sdk/client-s3'
import { completeMultipartUploadXml, deleteObjectsXml, deleteResultReader, listMultipartUploadsReader, listObjectsV2Reader } from './documents.js'
import { TransportError } from './error.js'
import { deleteInBatchAndSingly } from './delete.js'
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
  RequestOptions,
  ResponseBody,
  Transport,
  UploadPartCopyInput,
  UploadPartInput,
} from './types.js'
import { childText } from './xml.js'
import { putOutput, resultDocument, streamDocument } from './fast/answers.js'
import { FastEngine, type FastEngineOptions } from './fast/engine.js'
import {
  checksumHeaders,
  conditionHeaders,
  copyOutput,
  copySourceHeaders,
  header,
  newObjectHeaders,
  objectHeaders,
  queryOf,
  requestIdOf,
  type Headers,
} from './fast/headers.js'
import { EMPTY_SHA256, UNSIGNED_PAYLOAD } from './fast/sign.js'

export { networkError } from './fast/body.js'
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, type FastEngineOptions, type UploadChecksumMode } from './fast/engine.js'
export { amzDate, cacheSigningKeys, encodeKey, signableRequest, signV4, type RequestTarget } from './fast/sign.js'

/** Options of {@link FastTransport}. */
export interface FastTransportOptions extends FastEngineOptions {
  /** The transport for configurations this one does not handle (the `sdk` transport). */
  fallback: Transport
}

/** The S3 transport over undici. Build it with `createTransport`. */
export class FastTransport implements Transport {
  readonly kind = 'fast' as const
  readonly #engine: FastEngine
  readonly #fallback: Transport

  constructor(client: S3Client, options: FastTransportOptions) {
    const { fallback, ...engine } = options
    this.#engine = new FastEngine(client, engine)
    this.#fallback = fallback
  }

  /** Which transport serves this bucket: `fast`, or `sdk` for configurations left to the SDK. */
  kindFor(bucket: string): Promise<'fast' | 'sdk'> {
    return this.#engine.kindFor(bucket)
  }

  close(): Promise<void> {
    return this.#engine.close()
  }

  // ---- operations ----

  getObject(input: GetObjectInput, options: RequestOptions = {}): Promise<GetObjectOutput> {
    return this.#engine.route(
      input.Bucket,
      (t) => {
        const headers: Headers = {}
        if (input.Range !== undefined) headers.range = input.Range
        conditionHeaders(input, headers)
        if (input.ChecksumMode !== undefined) headers['x-amz-checksum-mode'] = input.ChecksumMode
        const query = queryOf({ partNumber: input.PartNumber, versionId: input.VersionId })
        return this.#engine.request(t, 'GET', input.Key, query, headers, undefined, EMPTY_SHA256, options.signal, async (a) => {
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
    return this.#engine.route(
      input.Bucket,
      (t) => {
        const headers: Headers = {}
        conditionHeaders(input, headers)
        if (input.ChecksumMode !== undefined) headers['x-amz-checksum-mode'] = input.ChecksumMode
        const query = queryOf({ partNumber: input.PartNumber, versionId: input.VersionId })
        return this.#engine.request(t, 'HEAD', input.Key, query, headers, undefined, EMPTY_SHA256, options.signal, async (a) => {
          await a.body.dump()
          return objectHeaders(a.headers)
        })
      },
      () => this.#fallback.headObject(input, options),
    )
  }

  putObject(input: PutObjectInput, options: RequestOptions = {}): Promise<PutObjectOutput> {
    return this.#engine.route(
      input.Bucket,
      (t) => {
        const headers: Headers = { 'content-length': String(this.#engine.bodyLength(input.Body, input.ContentLength)) }
        newObjectHeaders(input, headers)
        if (input.IfNoneMatch !== undefined) headers['if-none-match'] = input.IfNoneMatch
        if (input.IfMatch !== undefined) headers['if-match'] = input.IfMatch
        this.#engine.uploadChecksum(input, input.Body, headers)
        return this.#engine.request(t, 'PUT', input.Key, undefined, headers, input.Body, UNSIGNED_PAYLOAD, options.signal, (a) => putOutput(a))
      },
      () => this.#fallback.putObject(input, options),
    )
  }

  deleteObject(input: DeleteObjectInput, options: RequestOptions = {}): Promise<{ RequestId?: string }> {
    return this.#engine.route(
      input.Bucket,
      (t) =>
        this.#engine.request(
          t,
          'DELETE',
          input.Key,
          queryOf({ versionId: input.VersionId }),
          input.IfMatch === undefined ? {} : { 'if-match': input.IfMatch },
          undefined,
          EMPTY_SHA256,
          options.signal,
          async (a) => {
            await a.body.dump()
            return requestIdOf(a)
          },
        ),
      () => this.#fallback.deleteObject(input, options),
    )
  }

  listObjectsV2(input: ListObjectsV2Input, options: RequestOptions = {}): Promise<ListObjectsV2Output> {
    return this.#engine.route(
      input.Bucket,
      (t) => {
        const query: Record<string, string> = { 'list-type': '2', 'encoding-type': 'url' }
        if (input.Prefix !== undefined && input.Prefix !== '') query.prefix = input.Prefix
        if (input.Delimiter !== undefined && input.Delimiter !== '') query.delimiter = input.Delimiter
        if (input.StartAfter !== undefined && input.StartAfter !== '') query['start-after'] = input.StartAfter
        if (input.ContinuationToken !== undefined && input.ContinuationToken !== '') query['continuation-token'] = input.ContinuationToken
        if (input.MaxKeys !== undefined) query['max-keys'] = String(input.MaxKeys)
        if (input.FetchOwner) query['fetch-owner'] = 'true'
        return this.#engine.request(t, 'GET', undefined, query, {}, undefined, EMPTY_SHA256, options.signal, async (a) => {
          const out = await streamDocument(a, listObjectsV2Reader())
          const requestId = header(a.headers, 'x-amz-request-id')
          if (requestId !== undefined) out.RequestId = requestId
          return out
        })
      },
      () => this.#fallback.listObjectsV2(input, options),
    )
  }

  deleteObjects(input: DeleteObjectsInput, options: RequestOptions = {}): Promise<DeleteObjectsOutput> {
    return this.#engine.route(
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
          return this.#engine.request(t, 'POST', undefined, { delete: '' }, headers, xml, sha, options.signal, async (a) => {
            const out = await streamDocument(a, deleteResultReader())
            const requestId = header(a.headers, 'x-amz-request-id')
            if (requestId !== undefined) out.RequestId = requestId
            return out
          })
        }),
      () => this.#fallback.deleteObjects(input, options),
    )
  }

  copyObject(input: CopyObjectInput, options: RequestOptions = {}): Promise<CopyObjectOutput> {
    return this.#engine.route(
      input.Bucket,
      (t) => {
        const headers: Headers = {}
        copySourceHeaders(input.CopySource, input, headers)
        if (input.MetadataDirective !== undefined) headers['x-amz-metadata-directive'] = input.MetadataDirective
        newObjectHeaders(input, headers)
        return this.#engine.request(t, 'PUT', input.Key, undefined, headers, undefined, EMPTY_SHA256, options.signal, (a) =>
          resultDocument(a, 'CopyObjectResult', (root) => copyOutput(root, a)),
        )
      },
      () => this.#fallback.copyObject(input, options),
    )
  }

  createMultipartUpload(input: CreateMultipartUploadInput, options: RequestOptions = {}): Promise<CreateMultipartUploadOutput> {
    return this.#engine.route(
      input.Bucket,
      (t) => {
        const headers: Headers = {}
        newObjectHeaders(input, headers)
        if (input.ChecksumAlgorithm !== undefined) headers['x-amz-checksum-algorithm'] = input.ChecksumAlgorithm
        return this.#engine.request(t, 'POST', input.Key, { uploads: '' }, headers, undefined, EMPTY_SHA256, options.signal, (a) =>
          resultDocument(a, 'InitiateMultipartUploadResult', (root) => {
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
    return this.#engine.route(
      input.Bucket,
      (t) => {
        const headers: Headers = { 'content-length': String(this.#engine.bodyLength(input.Body, input.ContentLength)) }
        this.#engine.uploadChecksum(input, input.Body, headers)
        const query = { partNumber: String(input.PartNumber), uploadId: input.UploadId }
        return this.#engine.request(t, 'PUT', input.Key, query, headers, input.Body, UNSIGNED_PAYLOAD, options.signal, (a) => putOutput(a))
      },
      () => this.#fallback.uploadPart(input, options),
    )
  }

  uploadPartCopy(input: UploadPartCopyInput, options: RequestOptions = {}): Promise<CopyObjectOutput> {
    return this.#engine.route(
      input.Bucket,
      (t) => {
        const headers: Headers = {}
        copySourceHeaders(input.CopySource, input, headers)
        if (input.CopySourceRange !== undefined) headers['x-amz-copy-source-range'] = input.CopySourceRange
        const query = { partNumber: String(input.PartNumber), uploadId: input.UploadId }
        return this.#engine.request(t, 'PUT', input.Key, query, headers, undefined, EMPTY_SHA256, options.signal, (a) =>
          resultDocument(a, 'CopyPartResult', (root) => copyOutput(root, a)),
        )
      },
      () => this.#fallback.uploadPartCopy(input, options),
    )
  }

  completeMultipartUpload(input: CompleteMultipartUploadInput, options: RequestOptions = {}): Promise<CompleteMultipartUploadOutput> {
    return this.#engine.route(
      input.Bucket,
      (t) => {
        const xml = Buffer.from(completeMultipartUploadXml(input.Parts), 'utf8')
        const headers: Headers = { 'content-type': 'application/xml', 'content-length': String(xml.length) }
        if (input.IfNoneMatch !== undefined) headers['if-none-match'] = input.IfNoneMatch
        const sha = createHash('sha256').update(xml).digest('hex')
        return this.#engine.request(t, 'POST', input.Key, { uploadId: input.UploadId }, headers, xml, sha, options.signal, (a) =>
          resultDocument(a, 'CompleteMultipartUploadResult', (root) => {
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
    return this.#engine.route(
      input.Bucket,
      (t) =>
        this.#engine.request(t, 'DELETE', input.Key, { uploadId: input.UploadId }, {}, undefined, EMPTY_SHA256, options.signal, async (a) => {
          await a.body.dump()
          return requestIdOf(a)
        }),
      () => this.#fallback.abortMultipartUpload(input, options),
    )
  }

  listMultipartUploads(input: ListMultipartUploadsInput, options: RequestOptions = {}): Promise<ListMultipartUploadsOutput> {
    return this.#engine.route(
      input.Bucket,
      (t) => {
        // No encoding-type here: radosgw encodes the keys then but does not say so.
        const query: Record<string, string> = { uploads: '' }
        if (input.Prefix !== undefined && input.Prefix !== '') query.prefix = input.Prefix
        if (input.Delimiter !== undefined && input.Delimiter !== '') query.delimiter = input.Delimiter
        if (input.KeyMarker !== undefined && input.KeyMarker !== '') query['key-marker'] = input.KeyMarker
        if (input.UploadIdMarker !== undefined && input.UploadIdMarker !== '') query['upload-id-marker'] = input.UploadIdMarker
        if (input.MaxUploads !== undefined) query['max-uploads'] = String(input.MaxUploads)
        return this.#engine.request(t, 'GET', undefined, query, {}, undefined, EMPTY_SHA256, options.signal, async (a) => {
          const out = await streamDocument(a, listMultipartUploadsReader())
          const requestId = header(a.headers, 'x-amz-request-id')
          if (requestId !== undefined) out.RequestId = requestId
          return out
        })
      },
      () => this.#fallback.listMultipartUploads(input, options),
    )
  }
}
