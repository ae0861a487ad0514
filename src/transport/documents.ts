/**
 * S3's XML documents, read into the transport's output shapes and written from its inputs.
 * Listings are read as they stream in (see {@link XmlStreamReader}); the small answers
 * (initiate, complete, copy, errors) are parsed whole.
 *
 * @packageDocumentation
 */
import type { DeleteError, DeleteObjectsOutput, ListEntry, ListMultipartUploadsOutput, ListObjectsV2Output, MultipartUpload } from './types.js'
import {
  childText,
  dateAt,
  decodeUrlValue,
  etagAt,
  integerAt,
  knownName,
  parseXml,
  textOf,
  XmlError,
  XmlStreamReader,
  type RecordSink,
  type XmlElement,
} from './xml.js'

/** Values that repeat on every entry of a page: shared, not one string per entry. */
const STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
  'INTELLIGENT_TIERING',
  'ONEZONE_IA',
  'REDUCED_REDUNDANCY',
  'EXPRESS_ONEZONE',
  'OUTPOSTS',
  'SNOW',
]
const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']

/** What an `<Error>` document says. */
export interface ErrorDocument {
  Code: string
  Message?: string
  RequestId?: string
  HostId?: string
  Key?: string
  BucketName?: string
}

/** Read an `<Error>` root element. */
export function errorOf(root: XmlElement): ErrorDocument {
  const doc: ErrorDocument = { Code: childText(root, 'Code') || 'Unknown' }
  const message = childText(root, 'Message')
  if (message) doc.Message = message
  const requestId = childText(root, 'RequestId')
  if (requestId) doc.RequestId = requestId
  const hostId = childText(root, 'HostId')
  if (hostId) doc.HostId = hostId
  const key = childText(root, 'Key')
  if (key) doc.Key = key
  const bucket = childText(root, 'BucketName')
  if (bucket) doc.BucketName = bucket
  return doc
}

/** Parse the body of an error answer; undefined when it is not an `<Error>` document. */
export function parseErrorBody(text: string): ErrorDocument | undefined {
  if (text.trim() === '') return undefined
  try {
    const root = parseXml(text)
    return root.name === 'Error' ? errorOf(root) : undefined
  } catch {
    return undefined
  }
}

/**
 * The result of a small answer that must hold `expected` as its root (CopyObjectResult,
 * CompleteMultipartUploadResult...), or the `<Error>` it held instead (S3 may answer 200 and
 * then an error, after whitespace sent to keep the connection open), or neither.
 */
export type ResultDocument = { kind: 'result'; root: XmlElement } | { kind: 'error'; error: ErrorDocument } | { kind: 'invalid'; reason: string }

/** Read a small answer expected to be `<expected>` (whitespace anywhere around it is fine). */
export function readResultDocument(text: string, expected: string): ResultDocument {
  let root: XmlElement
  try {
    root = parseXml(text)
  } catch (err) {
    return { kind: 'invalid', reason: text.trim() === '' ? 'an empty body' : `malformed XML (${(err as Error).message})` }
  }
  if (root.name === 'Error') return { kind: 'error', error: errorOf(root) }
  if (root.name !== expected) return { kind: 'invalid', reason: `<${root.name}> instead of <${expected}>` }
  return { kind: 'result', root }
}

/** A reader fed with body chunks, whose root may turn out to be an `<Error>`. */
export interface DocumentReader<T> {
  push(chunk: Uint8Array): void
  /** Ends the document: its result, or the error document it held. */
  end(): { result: T } | { error: ErrorDocument }
}

function errorCollector(): { onChild: (e: XmlElement) => void; root: XmlElement } {
  const root: XmlElement = { name: 'Error', text: '', children: [] }
  return { root, onChild: (e) => root.children.push(e) }
}

function ownerField(entry: { Owner?: { ID?: string; DisplayName?: string } }, name: string, xml: string, start: number, end: number): void {
  const owner = (entry.Owner ??= {})
  if (name === 'ID') owner.ID = textOf(xml, start, end)
  else if (name === 'DisplayName') owner.DisplayName = textOf(xml, start, end)
}

/**
 * The sink of `<CommonPrefixes>` records. Like every sink, it commits in `end()` only: a record
 * cut by a chunk boundary is read again from its start once the rest has come.
 */
function prefixSink(prefixes: string[]): RecordSink {
  let prefix: string | undefined
  return {
    begin() {
      prefix = undefined
    },
    field(parent, name, xml, start, end) {
      if (parent === undefined && name === 'Prefix') prefix = textOf(xml, start, end)
    },
    end() {
      if (prefix !== undefined) prefixes.push(prefix)
    },
  }
}

/** A streaming reader of a ListObjectsV2 answer (`ListBucketResult`). */
export function listObjectsV2Reader(): DocumentReader<ListObjectsV2Output> {
  const contents: ListEntry[] = []
  const prefixes: string[] = []
  let entry: ListEntry = { Key: '', Size: 0 }
  let isTruncated = false
  let keyCount: number | undefined
  let token: string | undefined
  let encoded = false
  const errors = errorCollector()
  const objects: RecordSink = {
    names: ['Key', 'LastModified', 'ETag', 'Size', 'StorageClass', 'Owner', 'ID', 'DisplayName', 'ChecksumAlgorithm', 'ChecksumType'],
    begin() {
      entry = { Key: '', Size: 0 }
    },
    field(parent, name, xml, start, end) {
      if (parent === 'Owner') return ownerField(entry, name, xml, start, end)
      switch (name) {
        case 'Key':
          entry.Key = textOf(xml, start, end)
          break
        case 'LastModified':
          entry.LastModified = dateAt(xml, start, end)
          break
        case 'ETag':
          entry.ETag = etagAt(xml, start, end)
          break
        case 'Size':
          // NaN for anything but digits: refused when the page ends.
          entry.Size = integerAt(xml, start, end)
          break
        case 'StorageClass':
          entry.StorageClass = knownName(xml, start, end, STORAGE_CLASSES) ?? textOf(xml, start, end)
          break
        case 'ChecksumAlgorithm':
          ;(entry.ChecksumAlgorithm ??= []).push(knownName(xml, start, end, CHECKSUM_ALGORITHMS) ?? textOf(xml, start, end))
          break
        case 'ChecksumType':
          entry.ChecksumType = textOf(xml, start, end)
          break
      }
    },
    end() {
      contents.push(entry)
    },
  }
  const common = prefixSink(prefixes)
  const reader = new XmlStreamReader(
    (e) => {
      if (reader.rootName === 'Error') return errors.onChild(e)
      switch (e.name) {
        case 'IsTruncated':
          isTruncated = e.text === 'true'
          break
        case 'KeyCount':
          keyCount = Number(e.text)
          break
        case 'NextContinuationToken':
          token = e.text
          break
        case 'EncodingType':
          encoded = e.text === 'url'
          break
      }
    },
    { Contents: objects, CommonPrefixes: common },
  )
  return {
    push: (chunk) => reader.push(chunk),
    end() {
      reader.end()
      if (reader.rootName === 'Error') return { error: errorOf(errors.root) }
      if (reader.rootName !== 'ListBucketResult') throw new XmlError(`Expected <ListBucketResult>, got <${reader.rootName ?? ''}>`)
      // Keys are decoded only when the server says it encoded them (not every server does).
      if (encoded) {
        for (const c of contents) c.Key = decodeUrlValue(c.Key)
        for (let i = 0; i < prefixes.length; i++) prefixes[i] = decodeUrlValue(prefixes[i]!)
      }
      for (const c of contents) {
        if (!Number.isSafeInteger(c.Size) || c.Size < 0) throw new XmlError(`Bad <Size> for key ${JSON.stringify(c.Key)}`)
        if (c.LastModified !== undefined && Number.isNaN(c.LastModified.getTime())) throw new XmlError(`Bad <LastModified> for key ${JSON.stringify(c.Key)}`)
      }
      const out: ListObjectsV2Output = { Contents: contents, CommonPrefixes: prefixes, IsTruncated: isTruncated }
      if (keyCount !== undefined && Number.isFinite(keyCount)) out.KeyCount = keyCount
      if (token !== undefined) out.NextContinuationToken = token
      return { result: out }
    },
  }
}

/** A streaming reader of a ListMultipartUploads answer. */
export function listMultipartUploadsReader(): DocumentReader<ListMultipartUploadsOutput> {
  const uploads: MultipartUpload[] = []
  const prefixes: string[] = []
  let upload: MultipartUpload = { Key: '', UploadId: '' }
  let isTruncated = false
  let nextKeyMarker: string | undefined
  let nextUploadIdMarker: string | undefined
  let encoded = false
  const errors = errorCollector()
  const sink: RecordSink = {
    begin() {
      upload = { Key: '', UploadId: '' }
    },
    field(parent, name, xml, start, end) {
      if (parent === 'Owner') return ownerField(upload, name, xml, start, end)
      const text = textOf(xml, start, end)
      if (parent === 'Initiator') {
        const initiator = (upload.Initiator ??= {})
        if (name === 'ID') initiator.ID = text
        else if (name === 'DisplayName') initiator.DisplayName = text
        return
      }
      switch (name) {
        case 'Key':
          upload.Key = text
          break
        case 'UploadId':
          upload.UploadId = text
          break
        case 'Initiated':
          upload.Initiated = dateAt(xml, start, end)
          break
        case 'StorageClass':
          upload.StorageClass = text
          break
        case 'ChecksumAlgorithm':
          upload.ChecksumAlgorithm = text
          break
      }
    },
    end() {
      uploads.push(upload)
    },
  }
  const common = prefixSink(prefixes)
  const reader = new XmlStreamReader(
    (e) => {
      if (reader.rootName === 'Error') return errors.onChild(e)
      switch (e.name) {
        case 'IsTruncated':
          isTruncated = e.text === 'true'
          break
        case 'NextKeyMarker':
          nextKeyMarker = e.text
          break
        case 'NextUploadIdMarker':
          nextUploadIdMarker = e.text
          break
        case 'EncodingType':
          encoded = e.text === 'url'
          break
      }
    },
    { Upload: sink, CommonPrefixes: common },
  )
  return {
    push: (chunk) => reader.push(chunk),
    end() {
      reader.end()
      if (reader.rootName === 'Error') return { error: errorOf(errors.root) }
      if (reader.rootName !== 'ListMultipartUploadsResult') throw new XmlError(`Expected <ListMultipartUploadsResult>, got <${reader.rootName ?? ''}>`)
      if (encoded) {
        for (const u of uploads) u.Key = decodeUrlValue(u.Key)
        for (let i = 0; i < prefixes.length; i++) prefixes[i] = decodeUrlValue(prefixes[i]!)
        if (nextKeyMarker !== undefined) nextKeyMarker = decodeUrlValue(nextKeyMarker)
      }
      const out: ListMultipartUploadsOutput = { Uploads: uploads, CommonPrefixes: prefixes, IsTruncated: isTruncated }
      if (nextKeyMarker) out.NextKeyMarker = nextKeyMarker
      if (nextUploadIdMarker) out.NextUploadIdMarker = nextUploadIdMarker
      return { result: out }
    },
  }
}

/** A streaming reader of a DeleteObjects answer (`DeleteResult`). */
export function deleteResultReader(): DocumentReader<DeleteObjectsOutput> {
  const out: DeleteObjectsOutput = { Deleted: [], Errors: [] }
  let deleted: DeleteObjectsOutput['Deleted'][number] = { Key: '' }
  let failed: DeleteError = { Key: '', Code: '' }
  const errors = errorCollector()
  const deletedSink: RecordSink = {
    begin() {
      deleted = { Key: '' }
    },
    field(parent, name, xml, start, end) {
      if (parent !== undefined) return
      const text = textOf(xml, start, end)
      if (name === 'Key') deleted.Key = text
      else if (name === 'VersionId') deleted.VersionId = text
      else if (name === 'DeleteMarker') deleted.DeleteMarker = text === 'true'
      else if (name === 'DeleteMarkerVersionId') deleted.DeleteMarkerVersionId = text
    },
    end() {
      out.Deleted.push(deleted)
    },
  }
  const errorSink: RecordSink = {
    begin() {
      failed = { Key: '', Code: '' }
    },
    field(parent, name, xml, start, end) {
      if (parent !== undefined) return
      const text = textOf(xml, start, end)
      if (name === 'Key') failed.Key = text
      else if (name === 'VersionId') failed.VersionId = text
      else if (name === 'Code') failed.Code = text
      else if (name === 'Message') failed.Message = text
    },
    end() {
      if (!failed.Code) failed.Code = 'Unknown'
      out.Errors.push(failed)
    },
  }
  // The root is <DeleteResult> (whose children include <Error> records) or, for a failure of
  // the whole request, <Error> (whose children are Code, Message...).
  const reader = new XmlStreamReader(
    (e) => {
      if (reader.rootName === 'Error') errors.onChild(e)
    },
    { Deleted: deletedSink, Error: errorSink },
  )
  return {
    push: (chunk) => reader.push(chunk),
    end() {
      reader.end()
      if (reader.rootName === 'Error') return { error: errorOf(errors.root) }
      if (reader.rootName !== 'DeleteResult') throw new XmlError(`Expected <DeleteResult>, got <${reader.rootName ?? ''}>`)
      return { result: out }
    },
  }
}

export { completeMultipartUploadXml, deleteObjectsXml, fitsXml10, quoteEtag } from './request-bodies.js'
