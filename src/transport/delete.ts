/**
 * DeleteObjects for every key: a key XML 1.0 cannot carry (a C0 control character, say) makes
 * S3 servers refuse the whole batch, so those keys are deleted one by one with DeleteObject
 * (a few at a time) and their outcomes merged into the batch's answer, in the same shape.
 *
 * @packageDocumentation
 */
import { fitsXml10 } from './documents.js'
import { TransportError } from './error.js'
import type { DeleteObjectsInput, DeleteObjectsOutput, ObjectIdentifier, RequestOptions, Transport } from './types.js'

/** Single deletes in flight at once for the keys that cannot go in a batch. */
const SINGLE_CONCURRENCY = 4

/** Run a DeleteObjects request through `batch` for the keys that fit XML, DeleteObject for the rest. */
export async function deleteInBatchAndSingly(
  input: DeleteObjectsInput,
  transport: Pick<Transport, 'deleteObject'>,
  options: RequestOptions,
  batch: (objects: ObjectIdentifier[]) => Promise<DeleteObjectsOutput>,
): Promise<DeleteObjectsOutput> {
  const inXml: ObjectIdentifier[] = []
  const single: ObjectIdentifier[] = []
  for (const o of input.Objects) (fitsXml10(o.Key) && (o.VersionId === undefined || fitsXml10(o.VersionId)) ? inXml : single).push(o)
  if (single.length === 0) return batch(inXml)
  const out: DeleteObjectsOutput = inXml.length > 0 ? await batch(inXml) : { Deleted: [], Errors: [] }
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < single.length) {
      const o = single[next++]!
      try {
        await transport.deleteObject({ Bucket: input.Bucket, Key: o.Key, ...(o.VersionId === undefined ? {} : { VersionId: o.VersionId }) }, options)
        if (!(input.Quiet ?? true)) out.Deleted.push({ Key: o.Key, ...(o.VersionId === undefined ? {} : { VersionId: o.VersionId }) })
      } catch (err) {
        // An abort (or a failure without an S3 answer) fails the call, as it would a batch.
        if (!(err instanceof TransportError) || err.$metadata.httpStatusCode === undefined) throw err
        out.Errors.push({ Key: o.Key, ...(o.VersionId === undefined ? {} : { VersionId: o.VersionId }), Code: err.Code, Message: err.message })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(SINGLE_CONCURRENCY, single.length) }, worker))
  return out
}
