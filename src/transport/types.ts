/**
 * The request layer under the stages and sinks: one interface for the S3 operations they use,
 * with two implementations — `sdk` (the AWS SDK's S3Client) and `fast` (undici, SigV4 with the
 * SDK signer's signing key, a small reader for S3's XML answers). Field names follow the S3 API (and so the
 * SDK's command inputs and outputs), so a stage moves from `client.send(new XCommand(input))` to
 * `transport.x(input, { signal })` without renaming.
 *
 * Internal: nothing here is exported from the package yet.
 *
 * @packageDocumentation
 */
import type { Readable } from 'node:stream'
import type {
  AbortMultipartUploadInput,
  CompleteMultipartUploadInput,
  CompleteMultipartUploadOutput,
  CreateMultipartUploadInput,
  CreateMultipartUploadOutput,
  ListMultipartUploadsInput,
  ListMultipartUploadsOutput,
  UploadPartCopyInput,
  UploadPartInput,
} from './types/multipart.js'

/** Which implementation answered. */
export type TransportKind = 'sdk' | 'fast'

/** Options every operation takes. */
export interface RequestOptions {
  /**
   * Abort the request: it stops at once (a response body being read errors too) and the
   * operation rejects with an error named `AbortError` whose `cause` is the signal's reason.
   */
  signal?: AbortSignal
}

/** Checksum algorithms S3 stores and returns. */
export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256'

/** Checksum headers of an object or part (base64, as S3 sends them). */
export interface Checksums {
  ChecksumCRC32?: string
  ChecksumCRC32C?: string
  ChecksumCRC64NVME?: string
  ChecksumSHA1?: string
  ChecksumSHA256?: string
  /** `FULL_OBJECT` or `COMPOSITE` (multipart checksums of part checksums). */
  ChecksumType?: string
}

/** Server-side encryption headers of an answer. */
export interface EncryptionHeaders {
  /** `AES256`, `aws:kms`, `aws:kms:dsse`: an ETag is an MD5 only for none or AES256. */
  ServerSideEncryption?: string
  /** Set for SSE-C objects (their ETag is not an MD5). */
  SSECustomerAlgorithm?: string
  SSEKMSKeyId?: string
}

/** What GetObject and HeadObject tell about an object. */
export interface ObjectHeaders extends Checksums, EncryptionHeaders {
  /** Bytes in this answer's body (for HEAD: of the object or of the part asked for). */
  ContentLength?: number
  /** `bytes start-end/size` on a ranged (206) answer. */
  ContentRange?: string
  ETag?: string
  LastModified?: Date
  VersionId?: string
  ContentType?: string
  ContentEncoding?: string
  ContentDisposition?: string
  ContentLanguage?: string
  CacheControl?: string
  Expires?: string
  /** Absent for STANDARD on AWS. */
  StorageClass?: string
  /** User metadata (`x-amz-meta-*`), keys lower-cased. */
  Metadata: Record<string, string>
  /** `x-amz-mp-parts-count`: parts of a multipart object (with PartNumber, or always on some servers). */
  PartsCount?: number
  /** `x-amz-restore` of an archived object. */
  Restore?: string
  AcceptRanges?: string
  DeleteMarker?: boolean
  /** The request id of the answer (`x-amz-request-id`). */
  RequestId?: string
}

/** Input of GetObject. */
export interface GetObjectInput {
  Bucket: string
  Key: string
  /** An HTTP Range header value, e.g. `bytes=0-99` or `bytes=-100`. */
  Range?: string
  IfMatch?: string
  IfNoneMatch?: string
  IfModifiedSince?: Date
  IfUnmodifiedSince?: Date
  PartNumber?: number
  VersionId?: string
  /** `ENABLED`: ask for the stored checksums (AWS returns them; many servers ignore it). */
  ChecksumMode?: 'ENABLED'
}

/** A response body: a Node Readable of Buffers (also an `AsyncIterable<Uint8Array>`). */
export type ResponseBody = Readable & AsyncIterable<Uint8Array>

/** Output of GetObject. */
export interface GetObjectOutput extends ObjectHeaders {
  /** 200 for a whole object, 206 for a range or part. */
  StatusCode: number
  /**
   * The body, streamed as it arrives (not buffered). Read it to the end or destroy it: an
   * unread body holds its connection.
   */
  Body: ResponseBody
}

/** Input of HeadObject. */
export interface HeadObjectInput {
  Bucket: string
  Key: string
  IfMatch?: string
  IfNoneMatch?: string
  IfModifiedSince?: Date
  IfUnmodifiedSince?: Date
  PartNumber?: number
  VersionId?: string
  ChecksumMode?: 'ENABLED'
}

/** A request body: bytes (resent on a retry) or a stream of known length (sent once). */
export type RequestBody = Uint8Array | Readable

/** Headers shared by PutObject, CreateMultipartUpload and CopyObject (REPLACE). */
export interface NewObjectHeaders {
  ContentType?: string
  ContentEncoding?: string
  ContentDisposition?: string
  ContentLanguage?: string
  CacheControl?: string
  /** User metadata, sent as `x-amz-meta-*` headers. */
  Metadata?: Record<string, string>
  StorageClass?: string
}

/** Integrity headers of an upload. With none given, bytes bodies get one (see the transports). */
export interface UploadChecksum {
  /** Base64 MD5 of the body: the server rejects a body that does not match (`BadDigest`). */
  ContentMD5?: string
  /** Base64 big-endian CRC32 of the body (`x-amz-checksum-crc32`), checked by AWS. */
  ChecksumCRC32?: string
}

/** Input of PutObject. */
export interface PutObjectInput extends NewObjectHeaders, UploadChecksum {
  Bucket: string
  Key: string
  Body: RequestBody
  /** Required for a stream body; taken from the bytes otherwise. */
  ContentLength?: number
  /** `*`: fail with 412 if the key exists (conditional write). */
  IfNoneMatch?: string
  /** Overwrite only this version (ETag). */
  IfMatch?: string
}

/** Output of PutObject and UploadPart. */
export interface PutObjectOutput extends Checksums, EncryptionHeaders {
  ETag?: string
  VersionId?: string
  RequestId?: string
}

/** Input of ListObjectsV2. Keys in the answer are always asked url-encoded and decoded here. */
export interface ListObjectsV2Input {
  Bucket: string
  Prefix?: string
  Delimiter?: string
  StartAfter?: string
  ContinuationToken?: string
  /** 1 to 1000; the server's default (1000) when absent. */
  MaxKeys?: number
  FetchOwner?: boolean
}

/** One object of a listing. */
export interface ListEntry {
  Key: string
  LastModified?: Date
  ETag?: string
  Size: number
  StorageClass?: string
  Owner?: { ID?: string; DisplayName?: string }
  ChecksumAlgorithm?: string[]
  ChecksumType?: string
}

/** Output of ListObjectsV2. */
export interface ListObjectsV2Output {
  Contents: ListEntry[]
  /** Common prefixes (with a delimiter), decoded. */
  CommonPrefixes: string[]
  /** What the server says the page holds (objects + prefixes), when it says. */
  KeyCount?: number
  IsTruncated: boolean
  NextContinuationToken?: string
  RequestId?: string
}

/** One key of a DeleteObjects request. */
export interface ObjectIdentifier {
  Key: string
  VersionId?: string
}

/** Input of DeleteObjects (up to 1000 keys). */
export interface DeleteObjectsInput {
  Bucket: string
  Objects: ObjectIdentifier[]
  /** Only errors in the answer. Default true. */
  Quiet?: boolean
}

/** A key DeleteObjects could not delete. */
export interface DeleteError {
  Key: string
  VersionId?: string
  Code: string
  Message?: string
}

/** Output of DeleteObjects: per-key results (with Quiet, only the errors). */
export interface DeleteObjectsOutput {
  Deleted: { Key: string; VersionId?: string; DeleteMarker?: boolean; DeleteMarkerVersionId?: string }[]
  Errors: DeleteError[]
  RequestId?: string
}

/** Input of DeleteObject. */
export interface DeleteObjectInput {
  Bucket: string
  Key: string
  VersionId?: string
  /** Delete only if the object's ETag is this one (`If-Match`): a 412 otherwise. */
  IfMatch?: string
}

/** The object a copy reads from. */
export interface CopySource {
  Bucket: string
  Key: string
  VersionId?: string
}

/** Conditions on a copy's source. */
export interface CopySourceConditions {
  CopySourceIfMatch?: string
  CopySourceIfNoneMatch?: string
  CopySourceIfModifiedSince?: Date
  CopySourceIfUnmodifiedSince?: Date
}

/** Input of CopyObject. */
export interface CopyObjectInput extends NewObjectHeaders, CopySourceConditions {
  Bucket: string
  Key: string
  CopySource: CopySource
  /** `REPLACE` to set new metadata and content headers; the source's are kept otherwise. */
  MetadataDirective?: 'COPY' | 'REPLACE'
}

/** Output of CopyObject (and of UploadPartCopy). */
export interface CopyObjectOutput extends Checksums, EncryptionHeaders {
  ETag?: string
  LastModified?: Date
  VersionId?: string
  CopySourceVersionId?: string
  RequestId?: string
}

export type {
  AbortMultipartUploadInput,
  CompleteMultipartUploadInput,
  CompleteMultipartUploadOutput,
  CompletedPart,
  CreateMultipartUploadInput,
  CreateMultipartUploadOutput,
  ListMultipartUploadsInput,
  ListMultipartUploadsOutput,
  MultipartUpload,
  UploadPartCopyInput,
  UploadPartInput,
} from './types/multipart.js'

/**
 * The operations the stages and sinks use. Every method rejects with a {@link TransportError}
 * (S3 error responses, timeouts, network failures: `name`/`Code`, `$metadata.httpStatusCode`,
 * `$metadata.requestId`, so `toBucketflowError` maps it) or with an error named `AbortError`
 * when its signal aborts. Requests are retried with the client's retry strategy (the SDK's
 * standard semantics); a stream body is sent once.
 */
export interface Transport {
  readonly kind: TransportKind
  getObject(input: GetObjectInput, options?: RequestOptions): Promise<GetObjectOutput>
  headObject(input: HeadObjectInput, options?: RequestOptions): Promise<ObjectHeaders>
  putObject(input: PutObjectInput, options?: RequestOptions): Promise<PutObjectOutput>
  deleteObject(input: DeleteObjectInput, options?: RequestOptions): Promise<{ RequestId?: string }>
  listObjectsV2(input: ListObjectsV2Input, options?: RequestOptions): Promise<ListObjectsV2Output>
  deleteObjects(input: DeleteObjectsInput, options?: RequestOptions): Promise<DeleteObjectsOutput>
  copyObject(input: CopyObjectInput, options?: RequestOptions): Promise<CopyObjectOutput>
  createMultipartUpload(input: CreateMultipartUploadInput, options?: RequestOptions): Promise<CreateMultipartUploadOutput>
  uploadPart(input: UploadPartInput, options?: RequestOptions): Promise<PutObjectOutput>
  uploadPartCopy(input: UploadPartCopyInput, options?: RequestOptions): Promise<CopyObjectOutput>
  completeMultipartUpload(input: CompleteMultipartUploadInput, options?: RequestOptions): Promise<CompleteMultipartUploadOutput>
  abortMultipartUpload(input: AbortMultipartUploadInput, options?: RequestOptions): Promise<{ RequestId?: string }>
  listMultipartUploads(input: ListMultipartUploadsInput, options?: RequestOptions): Promise<ListMultipartUploadsOutput>
  /** Close idle connections; requests after this fail. */
  close(): Promise<void>
}

/** Timeouts of the request layer. */
export interface TransportTimeouts {
  /** Milliseconds to establish a connection (TCP and TLS). */
  connectTimeoutMs?: number
  /**
   * Milliseconds with no bytes moving (request body not accepted, no answer, response body
   * stalled) before a request fails with a `TimeoutError` (retried as a transient error when
   * the body can be resent, else raised).
   */
  idleTimeoutMs?: number
}
