/**
 * The `sdk` transport: each operation is the AWS SDK's command sent through the S3Client as it
 * is (its middleware, retries, checksums, endpoint rules), with the inputs and outputs of the
 * transport interface. What it adds:
 * - errors come out as {@link TransportError} (the S3 code also for answers without a body:
 *   `NotModified`, `PreconditionFailed`, ... where the SDK says `Unknown`);
 * - listings ask for `encoding-type=url` and decode keys, prefixes and markers;
 * - CompleteMultipartUpload, CopyObject and UploadPartCopy succeed only when the answer holds
 *   their result element: a 200 whose body is an `<Error>` — with or without whitespace around
 *   it (the SDK itself only looks at the last bytes) — or anything else is an error, retried by
 *   the SDK as a 503;
 * - connect and idle timeouts, when given, are set on the client's request handler.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import type { S3Client } from '@aws-sdk/client-s3'
import type { MetadataBearer } from '@smithy/types'
import { deleteInBatchAndSingly } from './delete.js'
import { checkTarget, TransportError } from './error.js'
import { installResultCheck } from './result-check.js'
import { askChecksums, checksumFields, copyOutput, copySourceOf, defined, fromSdkError, headersOf, writeOutput } from './sdk/shapes.js'
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
  TransportTimeouts,
  UploadPartCopyInput,
  UploadChecksum,
  UploadPartInput,
} from './types.js'
import { decodeUrlValue } from './xml.js'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '../aws-sdk.cjs'
import { encodeMetadata } from '../metadata.js'

/** Options of {@link SdkTransport}. */
export interface SdkTransportOptions extends TransportTimeouts {}
export { fromSdkError } from './sdk/shapes.js'

/** The transport over the AWS SDK's S3Client. Build it with `createTransport`. */
export class SdkTransport implements Transport {
  readonly kind = 'sdk' as const
  readonly #client: S3Client

  constructor(client: S3Client, options: SdkTransportOptions = {}) {
    this.#client = client
    installResultCheck(client)
    const handler = (client.config as unknown as { requestHandler?: { updateHttpClientConfig?: (key: string, value: unknown) => void } }).requestHandler
    if (typeof handler?.updateHttpClientConfig === 'function') {
      if (options.connectTimeoutMs !== undefined) handler.updateHttpClientConfig('connectionTimeout', options.connectTimeoutMs)
      if (options.idleTimeoutMs !== undefined) handler.updateHttpClientConfig('socketTimeout', options.idleTimeoutMs)
    }
  }

  /** The S3Client this transport sends through. */
  get client(): S3Client {
    return this.#client
  }

  /** Send `command`; Complete, Copy and UploadPartCopy resolve only with their result element (see result-check.ts). */
  async #send<O extends MetadataBearer>(command: { middlewareStack: unknown }, options: RequestOptions): Promise<O> {
    const input = (command as unknown as { input: { Bucket?: unknown; Key?: unknown; Metadata?: Record<string, string> } }).input
    checkTarget(input.Bucket, 'Key' in input ? input.Key : undefined)
    if (input.Metadata) input.Metadata = encodeMetadata(input.Metadata)
    try {
      return (await this.#client.send(command as never, options.signal ? { abortSignal: options.signal } : {})) as O
    } catch (err) {
      throw fromSdkError(err, options.signal, command instanceof HeadObjectCommand)
    }
  }

  async getObject(input: GetObjectInput, options: RequestOptions = {}): Promise<GetObjectOutput> {
    const { ChecksumMode, ...rest } = input
    const command = new GetObjectCommand(defined({ ...rest }))
    if (ChecksumMode !== undefined) askChecksums(command, ChecksumMode)
    const out = await this.#send<Record<string, unknown> & MetadataBearer>(command, options)
    const result = headersOf(out) as GetObjectOutput
    result.StatusCode = out.$metadata.httpStatusCode ?? 200
    result.Body = out.Body as ResponseBody
    return result
  }

  async headObject(input: HeadObjectInput, options: RequestOptions = {}): Promise<ObjectHeaders> {
    const out = await this.#send<Record<string, unknown> & MetadataBearer>(new HeadObjectCommand(defined({ ...input })), options)
    return headersOf(out)
  }

  /**
   * Content-MD5 for a bytes body sent without a checksum when the client computes none itself
   * (`requestChecksumCalculation: WHEN_REQUIRED`, bucketflow's setting for non-AWS servers).
   */
  async #md5IfNone(input: UploadChecksum & { Body: unknown }): Promise<string | undefined> {
    if (input.ContentMD5 !== undefined || input.ChecksumCRC32 !== undefined || !(input.Body instanceof Uint8Array)) return undefined
    const setting = (this.#client.config as unknown as { requestChecksumCalculation?: unknown }).requestChecksumCalculation
    const mode = typeof setting === 'function' ? await (setting as () => Promise<string>)() : setting
    if (mode !== 'WHEN_REQUIRED') return undefined
    return createHash('md5').update(input.Body).digest('base64')
  }

  async putObject(input: PutObjectInput, options: RequestOptions = {}): Promise<PutObjectOutput> {
    const { Body, ...rest } = input
    const length = input.ContentLength ?? (Body instanceof Uint8Array ? Body.byteLength : undefined)
    const md5 = await this.#md5IfNone(input)
    const out = await this.#send<Record<string, unknown> & MetadataBearer>(
      new PutObjectCommand(defined({ ...rest, Body, ContentLength: length, ...(md5 === undefined ? {} : { ContentMD5: md5 }) } as never)),
      options,
    )
    return writeOutput(out)
  }

  async deleteObject(input: DeleteObjectInput, options: RequestOptions = {}): Promise<{ RequestId?: string }> {
    const out = await this.#send<MetadataBearer>(new DeleteObjectCommand(defined({ ...input })), options)
    return defined({ RequestId: out.$metadata.requestId })
  }

  async listObjectsV2(input: ListObjectsV2Input, options: RequestOptions = {}): Promise<ListObjectsV2Output> {
    const out = await this.#send<Record<string, unknown> & MetadataBearer>(
      new ListObjectsV2Command(
        defined({
          Bucket: input.Bucket,
          Prefix: input.Prefix || undefined,
          Delimiter: input.Delimiter || undefined,
          StartAfter: input.StartAfter || undefined,
          ContinuationToken: input.ContinuationToken || undefined,
          MaxKeys: input.MaxKeys,
          FetchOwner: input.FetchOwner || undefined,
          EncodingType: 'url' as const,
        }),
      ),
      options,
    )
    const encoded = out.EncodingType === 'url'
    const decode = (v: string) => (encoded ? decodeUrlValue(v) : v)
    const contents = ((out.Contents ?? []) as Record<string, unknown>[]).map((o) => {
      const owner = o.Owner as { ID?: string; DisplayName?: string } | undefined
      return defined({
        Key: decode((o.Key as string | undefined) ?? ''),
        LastModified: o.LastModified as Date | undefined,
        ETag: o.ETag as string | undefined,
        Size: (o.Size as number | undefined) ?? 0,
        StorageClass: o.StorageClass as string | undefined,
        Owner: owner ? defined({ ID: owner.ID, DisplayName: owner.DisplayName }) : undefined,
        ChecksumAlgorithm: o.ChecksumAlgorithm as string[] | undefined,
        ChecksumType: o.ChecksumType as string | undefined,
      })
    })
    return defined({
      Contents: contents,
      CommonPrefixes: ((out.CommonPrefixes ?? []) as { Prefix?: string }[]).map((p) => decode(p.Prefix ?? '')),
      KeyCount: out.KeyCount as number | undefined,
      IsTruncated: out.IsTruncated === true,
      NextContinuationToken: out.NextContinuationToken as string | undefined,
      RequestId: out.$metadata.requestId,
    })
  }

  deleteObjects(input: DeleteObjectsInput, options: RequestOptions = {}): Promise<DeleteObjectsOutput> {
    return deleteInBatchAndSingly(input, this, options, async (batch) => {
      const out = await this.#send<Record<string, unknown> & MetadataBearer>(
        new DeleteObjectsCommand({ Bucket: input.Bucket, Delete: { Objects: batch.map((o) => defined({ ...o })), Quiet: input.Quiet ?? true } }),
        options,
      )
      return defined({
        Deleted: ((out.Deleted ?? []) as Record<string, unknown>[]).map((d) =>
          defined({
            Key: (d.Key as string | undefined) ?? '',
            VersionId: d.VersionId as string | undefined,
            DeleteMarker: d.DeleteMarker as boolean | undefined,
            DeleteMarkerVersionId: d.DeleteMarkerVersionId as string | undefined,
          }),
        ),
        Errors: ((out.Errors ?? []) as Record<string, unknown>[]).map((e) =>
          defined({
            Key: (e.Key as string | undefined) ?? '',
            VersionId: e.VersionId as string | undefined,
            Code: (e.Code as string | undefined) ?? 'Unknown',
            Message: e.Message as string | undefined,
          }),
        ),
        RequestId: out.$metadata.requestId,
      })
    })
  }

  async copyObject(input: CopyObjectInput, options: RequestOptions = {}): Promise<CopyObjectOutput> {
    const { CopySource, ...rest } = input
    const out = await this.#send<Record<string, unknown> & MetadataBearer>(
      new CopyObjectCommand(defined({ ...rest, CopySource: copySourceOf(CopySource) } as never)),
      options,
    )
    return copyOutput(out.CopyObjectResult as Record<string, unknown> | undefined, out)
  }

  async createMultipartUpload(input: CreateMultipartUploadInput, options: RequestOptions = {}): Promise<CreateMultipartUploadOutput> {
    const out = await this.#send<Record<string, unknown> & MetadataBearer>(new CreateMultipartUploadCommand(defined({ ...input } as never)), options)
    const uploadId = out.UploadId as string | undefined
    if (!uploadId)
      throw new TransportError('InvalidResponse', 'CreateMultipartUpload answered without an UploadId', {
        status: out.$metadata.httpStatusCode ?? 200,
        inBody: true,
      })
    return defined({ UploadId: uploadId, RequestId: out.$metadata.requestId, Attempts: out.$metadata.attempts ?? 1 })
  }

  async uploadPart(input: UploadPartInput, options: RequestOptions = {}): Promise<PutObjectOutput> {
    const length = input.ContentLength ?? (input.Body instanceof Uint8Array ? input.Body.byteLength : undefined)
    const md5 = await this.#md5IfNone(input)
    const out = await this.#send<Record<string, unknown> & MetadataBearer>(
      new UploadPartCommand(defined({ ...input, ContentLength: length, ...(md5 === undefined ? {} : { ContentMD5: md5 }) } as never)),
      options,
    )
    return writeOutput(out)
  }

  async uploadPartCopy(input: UploadPartCopyInput, options: RequestOptions = {}): Promise<CopyObjectOutput> {
    const { CopySource, ...rest } = input
    const out = await this.#send<Record<string, unknown> & MetadataBearer>(
      new UploadPartCopyCommand(defined({ ...rest, CopySource: copySourceOf(CopySource) } as never)),
      options,
    )
    return copyOutput(out.CopyPartResult as Record<string, unknown> | undefined, out)
  }

  async completeMultipartUpload(input: CompleteMultipartUploadInput, options: RequestOptions = {}): Promise<CompleteMultipartUploadOutput> {
    const out = await this.#send<Record<string, unknown> & MetadataBearer>(
      new CompleteMultipartUploadCommand(
        defined({
          Bucket: input.Bucket,
          Key: input.Key,
          UploadId: input.UploadId,
          MultipartUpload: { Parts: input.Parts.map((p) => defined({ ...p })) },
          IfNoneMatch: input.IfNoneMatch,
        }),
      ),
      options,
    )
    return defined({
      ETag: out.ETag as string | undefined,
      Location: out.Location as string | undefined,
      VersionId: out.VersionId as string | undefined,
      RequestId: out.$metadata.requestId,
      ...checksumFields(out),
    })
  }

  async abortMultipartUpload(input: AbortMultipartUploadInput, options: RequestOptions = {}): Promise<{ RequestId?: string }> {
    const out = await this.#send<MetadataBearer>(new AbortMultipartUploadCommand({ ...input }), options)
    return defined({ RequestId: out.$metadata.requestId })
  }

  async listMultipartUploads(input: ListMultipartUploadsInput, options: RequestOptions = {}): Promise<ListMultipartUploadsOutput> {
    const out = await this.#send<Record<string, unknown> & MetadataBearer>(
      new ListMultipartUploadsCommand(
        defined({
          Bucket: input.Bucket,
          Prefix: input.Prefix || undefined,
          Delimiter: input.Delimiter || undefined,
          KeyMarker: input.KeyMarker || undefined,
          UploadIdMarker: input.UploadIdMarker || undefined,
          MaxUploads: input.MaxUploads,
        }),
      ),
      options,
    )
    const encoded = out.EncodingType === 'url'
    const decode = (v: string) => (encoded ? decodeUrlValue(v) : v)
    const person = (p: unknown) => {
      const o = p as { ID?: string; DisplayName?: string } | undefined
      return o ? defined({ ID: o.ID, DisplayName: o.DisplayName }) : undefined
    }
    return defined({
      Uploads: ((out.Uploads ?? []) as Record<string, unknown>[]).map((u) =>
        defined({
          Key: decode((u.Key as string | undefined) ?? ''),
          UploadId: (u.UploadId as string | undefined) ?? '',
          Initiated: u.Initiated as Date | undefined,
          StorageClass: u.StorageClass as string | undefined,
          Owner: person(u.Owner),
          Initiator: person(u.Initiator),
          ChecksumAlgorithm: u.ChecksumAlgorithm as string | undefined,
        }),
      ),
      CommonPrefixes: ((out.CommonPrefixes ?? []) as { Prefix?: string }[]).map((p) => decode(p.Prefix ?? '')),
      IsTruncated: out.IsTruncated === true,
      NextKeyMarker: out.NextKeyMarker ? decode(out.NextKeyMarker as string) : undefined,
      NextUploadIdMarker: (out.NextUploadIdMarker as string | undefined) || undefined,
      RequestId: out.$metadata.requestId,
    })
  }

  /** Nothing to close: the S3Client belongs to its owner. */
  async close(): Promise<void> {}
}
