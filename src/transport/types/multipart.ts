/**
 * The multipart operations of the transport interface (see `../types.ts`): create, upload a
 * part (or copy one), complete, abort, list the uploads in progress. Internal.
 *
 * @packageDocumentation
 */
import type {
  ChecksumAlgorithm,
  Checksums,
  CopySource,
  CopySourceConditions,
  EncryptionHeaders,
  NewObjectHeaders,
  UploadChecksum,
  RequestBody,
} from '../types.js'

/** Input of CreateMultipartUpload. */
export interface CreateMultipartUploadInput extends NewObjectHeaders {
  Bucket: string
  Key: string
  /** Ask the server to keep part checksums of this algorithm (AWS). */
  ChecksumAlgorithm?: ChecksumAlgorithm
}

/** Output of CreateMultipartUpload. */
export interface CreateMultipartUploadOutput {
  UploadId: string
  RequestId?: string
  /**
   * Requests sent for this answer (1 when the first was answered). Above 1, an earlier attempt
   * may have created an upload whose answer was lost: the caller can look for it and abort it.
   */
  Attempts: number
}

/** Input of UploadPart. */
export interface UploadPartInput extends UploadChecksum {
  Bucket: string
  Key: string
  UploadId: string
  PartNumber: number
  Body: RequestBody
  ContentLength?: number
}

/** Input of UploadPartCopy. */
export interface UploadPartCopyInput extends CopySourceConditions {
  Bucket: string
  Key: string
  UploadId: string
  PartNumber: number
  CopySource: CopySource
  /** `bytes=first-last` of the source. */
  CopySourceRange?: string
}

/** One part of CompleteMultipartUpload. */
export interface CompletedPart {
  PartNumber: number
  ETag: string
  ChecksumCRC32?: string
}

/** Input of CompleteMultipartUpload. */
export interface CompleteMultipartUploadInput {
  Bucket: string
  Key: string
  UploadId: string
  Parts: CompletedPart[]
  /** `*`: fail if the key exists by then. */
  IfNoneMatch?: string
}

/**
 * Output of CompleteMultipartUpload. Resolves only when the answer held a
 * `CompleteMultipartUploadResult`; a 200 carrying `<Error>` (with any whitespace around it) or
 * anything else rejects. Some servers (radosgw) send an empty ETag: HEAD the object for it.
 */
export interface CompleteMultipartUploadOutput extends Checksums, EncryptionHeaders {
  ETag?: string
  Location?: string
  VersionId?: string
  RequestId?: string
}

/** Input of AbortMultipartUpload. */
export interface AbortMultipartUploadInput {
  Bucket: string
  Key: string
  UploadId: string
}

/** Input of ListMultipartUploads (keys asked url-encoded and decoded here). */
export interface ListMultipartUploadsInput {
  Bucket: string
  Prefix?: string
  Delimiter?: string
  KeyMarker?: string
  UploadIdMarker?: string
  MaxUploads?: number
}

/** One unfinished multipart upload. */
export interface MultipartUpload {
  Key: string
  UploadId: string
  Initiated?: Date
  StorageClass?: string
  Owner?: { ID?: string; DisplayName?: string }
  Initiator?: { ID?: string; DisplayName?: string }
  ChecksumAlgorithm?: string
}

/** Output of ListMultipartUploads. */
export interface ListMultipartUploadsOutput {
  Uploads: MultipartUpload[]
  CommonPrefixes: string[]
  IsTruncated: boolean
  NextKeyMarker?: string
  NextUploadIdMarker?: string
  RequestId?: string
}
