/** The XML bodies the transports send (DeleteObjects, CompleteMultipartUpload) and the checks they need. */
import type { CompletedPart, ObjectIdentifier } from './types.js'
import { escapeXml } from './xml.js'

/** The S3 XML namespace of request bodies. */
export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'

/**
 * Characters XML 1.0 cannot carry even as references (C0 controls but TAB, LF, CR; U+FFFE,
 * U+FFFF; lone surrogates). A key holding one cannot go in a DeleteObjects body: S3 servers
 * refuse the whole batch (radosgw answers 400), so such keys are deleted one by one.
 */
export function fitsXml10(text: string): boolean {
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)
}

/** Normalise an ETag to its quoted form (some servers send a copy result's ETag bare). */
export function quoteEtag(etag: string | undefined): string | undefined {
  if (etag === undefined || etag === '' || etag.startsWith('"') || etag.startsWith('W/"')) return etag
  return `"${etag}"`
}

/** The body of a DeleteObjects request. Keys are escaped, control characters as references. */
export function deleteObjectsXml(objects: ObjectIdentifier[], quiet: boolean): string {
  let xml = `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="${S3_NS}">`
  if (quiet) xml += '<Quiet>true</Quiet>'
  for (const o of objects) {
    xml += `<Object><Key>${escapeXml(o.Key)}</Key>`
    if (o.VersionId !== undefined) xml += `<VersionId>${escapeXml(o.VersionId)}</VersionId>`
    xml += '</Object>'
  }
  return `${xml}</Delete>`
}

/** The body of a CompleteMultipartUpload request. */
export function completeMultipartUploadXml(parts: CompletedPart[]): string {
  let xml = `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="${S3_NS}">`
  for (const p of parts) {
    xml += `<Part><PartNumber>${p.PartNumber}</PartNumber><ETag>${escapeXml(p.ETag)}</ETag>`
    if (p.ChecksumCRC32 !== undefined) xml += `<ChecksumCRC32>${escapeXml(p.ChecksumCRC32)}</ChecksumCRC32>`
    xml += '</Part>'
  }
  return `${xml}</CompleteMultipartUpload>`
}
