/**
 * The benchmark's own S3 work (fixtures, verification, cleanup) with the plain AWS SDK, so that
 * checking a tool's result never depends on the library being measured.
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type _Object,
} from '@aws-sdk/client-s3'
import type { S3Target } from './tools/types.js'

/** Run `fn` over `items` with at most `concurrency` in flight; rejects on the first failure. */
export async function pool<T>(items: Iterable<T>, concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]()
  let failed: unknown
  const worker = async () => {
    for (let next = it.next(); !next.done && failed === undefined; next = it.next()) {
      try {
        await fn(next.value)
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  if (failed !== undefined) throw failed
}

export class Admin {
  readonly client: S3Client

  constructor(
    target: S3Target,
    readonly bucket: string,
  ) {
    this.client = new S3Client({
      endpoint: target.endpoint,
      region: target.region,
      credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 } },
    })
  }

  async createBucket(): Promise<void> {
    await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }))
  }

  /** Put objects, `concurrency` at a time. */
  async putMany(items: Iterable<{ key: string; body: Uint8Array; storageClass?: string }>, concurrency = 32): Promise<void> {
    await pool(items, concurrency, async ({ key, body, storageClass }) => {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ...(storageClass ? { StorageClass: storageClass as 'STANDARD' } : {}),
        }),
      )
    })
  }

  /**
   * Upload a stream of unknown length in parts, one part at a time (plain SDK calls, so that the
   * fixture never depends on a tool under test); the upload is aborted on failure.
   */
  async putStream(key: string, chunks: Iterable<Buffer>, partSize: number): Promise<void> {
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }))
    const parts: { PartNumber: number; ETag: string }[] = []
    const send = async (body: Buffer) => {
      const PartNumber = parts.length + 1
      const out = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId, PartNumber, Body: body, ContentLength: body.length }))
      parts.push({ PartNumber, ETag: out.ETag! })
    }
    try {
      let pending: Buffer[] = []
      let size = 0
      for (const chunk of chunks) {
        pending.push(chunk)
        size += chunk.length
        while (size >= partSize) {
          const all = Buffer.concat(pending)
          await send(all.subarray(0, partSize))
          pending = [Buffer.from(all.subarray(partSize))]
          size -= partSize
        }
      }
      if (size > 0 || parts.length === 0) await send(Buffer.concat(pending))
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }))
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId })).catch(() => undefined)
      throw err
    }
  }

  /** Change an object's storage class (copy in place). */
  async setStorageClass(key: string, storageClass: string): Promise<void> {
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: key,
        CopySource: `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
        StorageClass: storageClass as 'STANDARD',
        MetadataDirective: 'COPY',
      }),
    )
  }

  /** Every object under a prefix. */
  async list(prefix: string): Promise<_Object[]> {
    const out: _Object[] = []
    let token: string | undefined
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }))
      out.push(...(page.Contents ?? []))
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return out
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))).ContentLength
    } catch {
      return undefined
    }
  }

  /** sha256 and length of an object's bytes. */
  async hash(key: string): Promise<{ size: number; sha256: string }> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
    const h = createHash('sha256')
    let size = 0
    for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength
      h.update(chunk)
    }
    return { size, sha256: h.digest('hex') }
  }

  /** Delete every object under a prefix and abort its unfinished multipart uploads. */
  async deletePrefix(prefix: string): Promise<void> {
    for (;;) {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: 1000 }))
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }))
      if (keys.length === 0) break
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }))
    }
    await this.abortUploads(prefix)
  }

  /** Abort unfinished multipart uploads under a prefix; resolves to how many there were. */
  async abortUploads(prefix: string): Promise<number> {
    const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix }))
    const uploads = page.Uploads ?? []
    for (const u of uploads) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key!, UploadId: u.UploadId! })).catch(() => undefined)
    }
    return uploads.length
  }

  /** Empty the bucket and delete it. */
  async destroy(): Promise<void> {
    await this.deletePrefix('')
    await this.client.send(new DeleteBucketCommand({ Bucket: this.bucket }))
    this.client.destroy()
  }
}
