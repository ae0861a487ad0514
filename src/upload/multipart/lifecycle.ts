/**
 * The life of one multipart upload on the server: created once (noting when a retried create
 * may have left an upload whose id never arrived), aborted on failure, and the uploads lost by
 * a retried create aborted at the end.
 *
 * @packageDocumentation
 */
import { delay } from '../../util/abort.js'
import { transportOf, type BucketRef } from '../../bucket-ref.js'
import { toBucketflowError } from '../../errors.js'
import type { CreateMultipartUploadInput, MultipartUpload } from '../../transport/types.js'
import { backoff } from './parts.js'

/** One multipart upload of the sink. */
export class UploadLifecycle {
  /** The upload's id, once it was created. */
  uploadId: string | undefined
  readonly #ref: BucketRef
  readonly #input: CreateMultipartUploadInput
  readonly #where: () => { bucket: string; key: string; uploadId?: string }
  #created: Promise<string> | undefined
  #createRetried: { anchor: number; callMs: number } | undefined

  constructor(ref: BucketRef, input: CreateMultipartUploadInput, where: () => { bucket: string; key: string; uploadId?: string }) {
    this.#ref = ref
    this.#input = input
    this.#where = where
  }

  /** Create the upload once (every part awaits the same promise). */
  create(): Promise<string> {
    // Not tied to the abort signal: if the sink is destroyed meanwhile, the upload is created,
    // then aborted, so no orphan is left behind.
    this.#created ??= (async () => {
      const started = Date.now()
      let out
      try {
        out = await transportOf(this.#ref).createMultipartUpload(this.#input)
      } catch (err) {
        throw toBucketflowError(err, { ...this.#where(), operation: 'CreateMultipartUpload' })
      }
      this.uploadId = out.UploadId
      if (out.Attempts > 1) {
        // An earlier attempt timed out or was reset: the server may have created an upload whose
        // id never reached us. Note when ours was initiated (server time), to find it later.
        const anchor = (await this.#uploadsOfKey().catch(() => [])).find((u) => u.UploadId === out.UploadId)?.Initiated?.getTime()
        if (anchor !== undefined) this.#createRetried = { anchor, callMs: Date.now() - started }
      }
      return out.UploadId
    })()
    return this.#created
  }

  async #uploadsOfKey(): Promise<MultipartUpload[]> {
    const out = await transportOf(this.#ref).listMultipartUploads({ Bucket: this.#input.Bucket, Prefix: this.#input.Key })
    return out.Uploads.filter((u) => u.Key === this.#input.Key)
  }

  /**
   * After a CreateMultipartUpload that needed retries: abort the uploads of this key the server
   * initiated during that call (within its duration plus a second of this upload's own
   * initiation), which only the attempts whose answers were lost can have made, unless another
   * writer started an upload of the same key in those same seconds.
   */
  async abortLostCreates(): Promise<void> {
    const retried = this.#createRetried
    if (!retried) return
    this.#createRetried = undefined
    try {
      const margin = retried.callMs + 1000
      for (const u of await this.#uploadsOfKey()) {
        const at = u.Initiated?.getTime()
        if (u.UploadId === this.uploadId || at === undefined || Math.abs(at - retried.anchor) > margin) continue
        await transportOf(this.#ref)
          .abortMultipartUpload({ Bucket: this.#input.Bucket, Key: this.#input.Key, UploadId: u.UploadId })
          .catch(() => undefined)
      }
    } catch {
      // Best effort: abortUploads() or a lifecycle rule removes what is left.
    }
  }

  /** Abort the multipart upload, if one was created (three attempts, then a warning). */
  async abort(): Promise<void> {
    if (!this.#created) return
    let uploadId: string
    try {
      uploadId = await this.#created
    } catch {
      return
    }
    let lastError: unknown
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await transportOf(this.#ref).abortMultipartUpload({ Bucket: this.#input.Bucket, Key: this.#input.Key, UploadId: uploadId })
        await this.abortLostCreates()
        return
      } catch (err) {
        const typed = toBucketflowError(err, { ...this.#where(), operation: 'AbortMultipartUpload' })
        if (typed.code === 'NoSuchUpload') {
          await this.abortLostCreates()
          return
        }
        lastError = typed
        await delay(backoff(attempt), undefined)
      }
    }
    process.emitWarning(
      `Could not abort multipart upload ${uploadId} of s3://${this.#input.Bucket}/${this.#input.Key}: ${(lastError as Error).message}; remove it with abortUploads()`,
      { code: 'BUCKETFLOW_ORPHAN_UPLOAD' },
    )
  }
}
