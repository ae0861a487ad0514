import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket } from '../src/bucket.js'
import { AbortError, BucketflowError, IntegrityError, InvalidArgumentError, SourceError } from '../src/errors.js'
import { createWriteStream, putStream, type UploadProgress } from '../src/upload/multipart.js'
import { FaultProxy } from './support/proxy.js'
import { s3Options, useBucket } from './support/s3.js'

const MiB = 1024 * 1024
const P = 5 * MiB
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** Irregular chunk sizes (1 B to ~300 KB), as subarrays of `data`. */
function* chunksOf(data: Buffer): Generator<Buffer> {
  let at = 0
  let n = 1
  while (at < data.length) {
    const size = Math.min(data.length - at, ((n * 7919) % 300_000) + 1)
    yield data.subarray(at, at + size)
    at += size
    n++
  }
}

/** Intermittent data: irregular chunks with pauses, some as strings' bytes. */
async function* intermittent(data: Buffer): AsyncGenerator<Uint8Array> {
  let n = 0
  for (const chunk of chunksOf(data)) {
    if (++n % 9 === 0) await sleep(n % 4 === 0 ? 25 : 3)
    yield new Uint8Array(chunk)
  }
}

function webStream(data: Buffer): ReadableStream<Uint8Array> {
  const it = chunksOf(data)
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = it.next()
      if (next.done) controller.close()
      else controller.enqueue(new Uint8Array(next.value))
    },
  })
}

/** Fresh buffers of `chunk` bytes, `total` bytes in all, then (optionally) an error. */
async function* produce(total: number, chunk: number, fail?: Error): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += chunk) yield randomBytes(Math.min(chunk, total - sent))
  if (fail) throw fail
}

describe('createWriteStream / putStream', () => {
  const direct = useBucket('multipart')
  let proxy: FaultProxy
  let bucket: Bucket
  let noRetry: Bucket

  beforeAll(async () => {
    proxy = await FaultProxy.start(s3Options().endpoint!)
    bucket = new Bucket(direct().name, s3Options({ endpoint: proxy.url }))
    // No client-level retries: only the sink's own per-part retry can save a failed part.
    noRetry = new Bucket(direct().name, s3Options({ endpoint: proxy.url, maxAttempts: 1 }))
  })
  afterAll(async () => {
    await proxy?.close()
  })

  async function assertNothingLeft(key: string): Promise<void> {
    expect(await bucket.listUploads({ prefix: key })).toEqual([])
    expect(await bucket.exists(key)).toBe(false)
  }

  const sizes = [0, 1, P - 1, P, P + 1, Math.floor(3.5 * P)]
  const sources: [string, (d: Buffer) => Readable | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>][] = [
    ['a Readable of unknown length', (d) => Readable.from(chunksOf(d))],
    ['an async generator with pauses', (d) => intermittent(d)],
    ['a web ReadableStream', (d) => webStream(d)],
  ]
  for (const size of sizes) {
    it(`stores ${size} bytes byte-exact from every stream source, multipart only above one part`, async () => {
      const data = randomBytes(size)
      for (const [name, make] of sources) {
        const key = `exact/${size}/${name.replaceAll(' ', '-')}`
        proxy.clearRequests()
        const result = await bucket.putStream(make(data), key, { partSize: P })
        const expectedParts = size > P ? Math.ceil(size / P) : 0
        expect(result, name).toMatchObject({ key, size, parts: expectedParts })
        // The ETag the sink reports is the stored object's, as HEAD sees it.
        expect(result.etag, name).toMatch(/./)
        expect(result.etag, name).toBe((await bucket.head(key)).etag)
        expect(proxy.count('CreateMultipartUpload'), name).toBe(size > P ? 1 : 0)
        expect(proxy.count('UploadPart'), name).toBe(expectedParts)
        expect(proxy.count('PutObject'), name).toBe(size > P ? 0 : 1)
        const back = await bucket.get(key)
        expect(back.length, name).toBe(size)
        expect(sha(back), name).toBe(sha(data))
      }
      expect(await bucket.listUploads({ prefix: `exact/${size}/` })).toEqual([])
    })
  }

  it('emits finish only after the object is complete, and reports progress', async () => {
    const key = 'finish/after-complete'
    const data = randomBytes(2 * P + 123)
    const progress: UploadProgress[] = []
    const sink = bucket.createWriteStream(key, { partSize: P, onProgress: (p) => progress.push(p) })
    let doneAtFinish: unknown = 'unset'
    let resolved: unknown
    void sink.done.then((r) => (resolved = r))
    sink.on('finish', () => (doneAtFinish = resolved))
    await pipeline(Readable.from(chunksOf(data)), sink)
    const result = await sink.done
    expect(doneAtFinish).toEqual(result)
    expect(result).toMatchObject({ key, size: data.length, parts: 3 })
    expect(sha(await bucket.get(key))).toBe(sha(data))
    const last = progress.at(-1)!
    expect(last).toEqual({ bytesWritten: data.length, bytesUploaded: data.length, partsDone: 3 })
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.bytesWritten).toBeGreaterThanOrEqual(progress[i - 1]!.bytesWritten)
      expect(progress[i]!.bytesUploaded).toBeGreaterThanOrEqual(progress[i - 1]!.bytesUploaded)
      expect(progress[i]!.bytesUploaded).toBeLessThanOrEqual(progress[i]!.bytesWritten)
    }
    expect(new Set(progress.map((p) => p.partsDone))).toEqual(new Set([0, 1, 2, 3]))
  })

  it('stores contentType, metadata and storageClass on both the single-put and multipart paths', async () => {
    const opts = { partSize: P, contentType: 'application/x-ndjson', metadata: { origin: 'sink' }, storageClass: 'STANDARD_IA' as const }
    for (const size of [1000, P + 1000]) {
      const key = `meta/${size}`
      await putStream(bucket, produce(size, 64 * 1024), key, opts)
      const h = await bucket.head(key)
      expect(h.size).toBe(size)
      expect(h.contentType).toBe('application/x-ndjson')
      expect(h.metadata).toEqual({ origin: 'sink' })
      expect(h.storageClass).toBe('STANDARD_IA')
    }
  })

  it('aborts the multipart upload when the source stream errors', async () => {
    const key = 'fail/source-error'
    proxy.clearRequests()
    const boom = new Error('the source broke')
    async function* breaking(): AsyncGenerator<Buffer> {
      yield* produce(12 * MiB, 64 * 1024)
      // Fail only once a part is stored on the server, so there is something to clean up.
      while (!proxy.of('UploadPart', (r) => r.key === key && r.status === 200).length) await sleep(10)
      throw boom
    }
    const err = await bucket.putStream(breaking(), key, { partSize: P }).catch((e: unknown) => e)
    // The source's own error, typed like every other failure, with the original as its cause.
    expect(err).toBeInstanceOf(SourceError)
    expect((err as SourceError).code).toBe('SourceError')
    expect((err as SourceError).cause).toBe(boom)
    expect((err as SourceError).key).toBe(key)
    expect(proxy.of('CreateMultipartUpload', (r) => r.key === key)).toHaveLength(1)
    expect(proxy.of('UploadPart', (r) => r.key === key && r.status === 200).length).toBeGreaterThanOrEqual(1)
    expect(proxy.of('AbortMultipartUpload', (r) => r.key === key)).toHaveLength(1)
    expect(proxy.of('CompleteMultipartUpload', (r) => r.key === key)).toHaveLength(0)
    await assertNothingLeft(key)
  })

  it('aborts the multipart upload on destroy() and rejects done with AbortError', async () => {
    const key = 'fail/destroyed'
    proxy.clearRequests()
    const sink = createWriteStream(bucket, key, { partSize: P })
    const errors: unknown[] = []
    sink.on('error', (e) => errors.push(e))
    for await (const chunk of produce(12 * MiB, 256 * 1024)) {
      if (!sink.write(chunk)) await once(sink, 'drain')
    }
    while (sink.partsDone < 1) await sleep(20)
    // The id the sink holds is the one its parts were sent with.
    const sentWith = proxy.of('UploadPart', (r) => r.key === key).map((r) => r.query.get('uploadId'))
    expect(sentWith.length).toBeGreaterThan(0)
    expect(new Set(sentWith)).toEqual(new Set([sink.uploadId]))
    const closed = once(sink, 'close')
    sink.destroy()
    const err = await sink.done.catch((e: unknown) => e)
    await closed
    expect(err).toBeInstanceOf(AbortError)
    expect((err as AbortError).key).toBe(key)
    expect(errors).toEqual([])
    expect(proxy.of('AbortMultipartUpload', (r) => r.key === key)).toHaveLength(1)
    expect(sink.bufferedBytes).toBe(0)
    await assertNothingLeft(key)
  })

  it('aborts the multipart upload when the signal aborts', async () => {
    const key = 'fail/signal'
    proxy.clearRequests()
    const controller = new AbortController()
    async function* forever(): AsyncGenerator<Buffer> {
      for (;;) {
        yield randomBytes(128 * 1024)
        await sleep(1)
      }
    }
    const err = await bucket
      .putStream(forever(), key, {
        partSize: P,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.partsDone >= 1) controller.abort()
        },
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AbortError)
    expect(proxy.of('CreateMultipartUpload', (r) => r.key === key)).toHaveLength(1)
    expect(proxy.of('AbortMultipartUpload', (r) => r.key === key)).toHaveLength(1)
    await assertNothingLeft(key)
    // An already aborted signal: nothing is sent at all.
    proxy.clearRequests()
    await expect(putStream(bucket, produce(P * 2, 64 * 1024), 'fail/pre-aborted', { partSize: P, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      AbortError,
    )
    expect(proxy.requests).toEqual([])
  })

  it('retries a part whose first attempt gets a connection reset, and the object is byte-exact', async () => {
    const key = 'retry/reset-once'
    proxy.clearRequests()
    proxy.addRule({ match: (r) => r.op === 'UploadPart' && r.key === key && r.partNumber === 2, reset: true, times: 1 })
    try {
      const data = randomBytes(Math.floor(3.5 * P))
      const sink = createWriteStream(noRetry, key, { partSize: P })
      await pipeline(Readable.from(chunksOf(data)), sink)
      const result = await sink.done
      expect(result).toMatchObject({ size: data.length, parts: 4 })
      const attempts = proxy.of('UploadPart', (r) => r.key === key && r.partNumber === 2)
      expect(attempts.map((a) => a.fault ?? a.status)).toEqual(['reset', 200])
      expect(sink.partRetries).toBe(1)
      expect(sha(await bucket.get(key))).toBe(sha(data))
    } finally {
      proxy.clearRules()
    }
  })

  it('gives up after maxPartAttempts, aborts the upload and names the failed part', async () => {
    const key = 'retry/always-reset'
    proxy.clearRequests()
    proxy.addRule({ match: (r) => r.op === 'UploadPart' && r.key === key && r.partNumber === 2, reset: true })
    try {
      const err = await putStream(noRetry, produce(3 * P, 256 * 1024), key, { partSize: P, maxPartAttempts: 3 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(BucketflowError)
      expect((err as BucketflowError).partNumber).toBe(2)
      expect((err as BucketflowError).key).toBe(key)
      // The error names the upload the failed part was sent to, and that upload was aborted.
      const [sentTo] = proxy.of('UploadPart', (r) => r.key === key && r.partNumber === 2).map((r) => r.query.get('uploadId'))
      expect(sentTo).toMatch(/./)
      expect((err as BucketflowError).uploadId).toBe(sentTo)
      expect(proxy.of('AbortMultipartUpload', (r) => r.key === key).map((r) => r.query.get('uploadId'))).toContain(sentTo)
      expect(proxy.of('UploadPart', (r) => r.key === key && r.partNumber === 2)).toHaveLength(3)
      expect(proxy.of('CompleteMultipartUpload', (r) => r.key === key)).toHaveLength(0)
      await assertNothingLeft(key)
    } finally {
      proxy.clearRules()
    }
  })

  it('fails with IntegrityError, and deletes the object, when the completed object has another size', async () => {
    const key = 'integrity/wrong-size'
    proxy.clearRequests()
    // The server reports one byte less than was written (as if a part had been stored short).
    proxy.addRule({
      match: (r) => r.op === 'HeadObject' && r.key === key,
      rewriteHeaders: (h) => ({ ...h, 'content-length': String(Number(h['content-length']) - 1) }),
      times: 1,
    })
    try {
      const sink = createWriteStream(bucket, key, { partSize: P })
      const emitted: unknown[] = []
      sink.on('error', (e) => emitted.push(e))
      await pipeline(Readable.from(produce(P + 100, 64 * 1024)), sink).catch(() => undefined)
      const err = await sink.done.catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IntegrityError)
      expect((err as IntegrityError).message).toMatch(new RegExp(`Wrote ${P + 100} bytes .* has ${P + 99}`))
      expect(emitted).toEqual([err])
      expect(proxy.of('CompleteMultipartUpload', (r) => r.key === key)).toHaveLength(1)
      expect(proxy.of('DeleteObject', (r) => r.key === key)).toHaveLength(1)
      await assertNothingLeft(key)
    } finally {
      proxy.clearRules()
    }
  })

  it('applies backpressure: a fast producer against a slow server never has more than 15 MiB buffered', async () => {
    const key = 'backpressure/slow-server'
    proxy.clearRequests()
    proxy.addRule({ match: (r) => r.op === 'UploadPart' && r.key === key, delayMs: 400 })
    try {
      const total = 40 * MiB
      const sink = createWriteStream(bucket, key, { partSize: P, queueSize: 2 })
      expect(sink.maxBufferedBytes).toBe(15 * MiB)
      let drains = 0
      sink.on('drain', () => drains++)
      let produced = 0
      let peakSeen = 0
      let peakUnacknowledged = 0
      let maxInFlight = 0
      async function* fast(): AsyncGenerator<Buffer> {
        for (; produced < total; ) {
          peakSeen = Math.max(peakSeen, sink.bufferedBytes)
          maxInFlight = Math.max(maxInFlight, sink.partsInFlight)
          // Independent of the sink: bytes handed over minus bytes the server acknowledged.
          // (Counted as acknowledged when the proxy starts the response: never later than the client learns it.)
          const acked = proxy.of('UploadPart', (r) => r.key === key && r.status === 200).reduce((n, r) => n + r.bytes, 0)
          peakUnacknowledged = Math.max(peakUnacknowledged, produced - acked)
          const chunk = randomBytes(256 * 1024)
          produced += chunk.length
          yield chunk
        }
      }
      await pipeline(Readable.from(fast(), { objectMode: false }), sink)
      const result = await sink.done
      expect(result.size).toBe(total)
      expect(sink.peakBufferedBytes).toBeLessThanOrEqual(15 * MiB)
      expect(peakSeen).toBeLessThanOrEqual(15 * MiB)
      // The limit was actually reached (the test exercises backpressure) ...
      expect(sink.peakBufferedBytes).toBeGreaterThan(10 * MiB)
      expect(drains).toBeGreaterThan(0)
      // ... and the bytes outside the server stayed within the bound plus the streams' own
      // small buffers (a Readable's and a Writable's 16 KiB highWaterMark and one chunk each).
      expect(peakUnacknowledged).toBeLessThanOrEqual(15 * MiB + 1 * MiB)
      const parts = proxy.of('UploadPart', (r) => r.key === key)
      expect(parts).toHaveLength(8)
      // Never more than queueSize parts at the server at once: a part that overlaps another
      // arrived before that one's response was sent.
      expect(maxInFlight).toBe(2)
      const events = parts.flatMap((p) => [
        [p.startedAt, 1],
        [p.respondedAt!, -1],
      ])
      events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!)
      let atServer = 0
      let maxAtServer = 0
      for (const [, delta] of events) maxAtServer = Math.max(maxAtServer, (atServer += delta!))
      expect(maxAtServer).toBe(2)
    } finally {
      proxy.clearRules()
    }
  })

  it('validates options before any request', async () => {
    proxy.clearRequests()
    const bad: [object, string, RegExp][] = [
      [{ partSize: 4 * MiB }, 'partSize', /Expected partSize to be an integer between 5242880 and 5368709120, got 4194304/],
      [{ partSize: P + 0.5 }, 'partSize', /got 5242880.5/],
      [{ queueSize: 0 }, 'queueSize', /Expected queueSize to be an integer >= 1, got 0/],
      [{ maxPartAttempts: 0 }, 'maxPartAttempts', /Expected maxPartAttempts to be an integer >= 1, got 0/],
      [{ onProgress: 'yes' }, 'onProgress', /Expected onProgress to be a function/],
    ]
    for (const [opts, argument, message] of bad) {
      const err = (() => {
        try {
          createWriteStream(bucket, 'never', opts)
        } catch (e) {
          return e
        }
      })()
      expect(err, argument).toBeInstanceOf(InvalidArgumentError)
      expect((err as InvalidArgumentError).argument).toBe(argument)
      expect((err as InvalidArgumentError).key).toBe('never')
      expect((err as Error).message).toMatch(message)
      await expect(putStream(bucket, produce(10, 10), 'never', opts)).rejects.toBeInstanceOf(InvalidArgumentError)
    }
    expect(() => createWriteStream(bucket, '', {})).toThrow(InvalidArgumentError)
    await expect(putStream(bucket, 42 as never, 'never')).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(proxy.requests).toEqual([])
  })

  it('routes bucket.put of a stream through the sink', async () => {
    const key = 'put/stream'
    proxy.clearRequests()
    const data = randomBytes(2 * P + 7)
    const result = await bucket.put(Readable.from(chunksOf(data)), key, { partSize: P, queueSize: 1 })
    expect(result).toMatchObject({ key, size: data.length })
    expect(Object.keys(result).sort()).toEqual(['etag', 'key', 'size', 'verified'])
    expect(result.verified).toBe('md5')
    expect(proxy.of('UploadPart', (r) => r.key === key)).toHaveLength(3)
    expect(sha(await bucket.get(key))).toBe(sha(data))
  })

  it('lists and aborts orphaned multipart uploads, one result per upload', async () => {
    const created = await bucket.client.send(new CreateMultipartUploadCommand({ Bucket: bucket.name, Key: 'orphans/one' }))
    await bucket.client.send(new CreateMultipartUploadCommand({ Bucket: bucket.name, Key: 'elsewhere/two' }))
    const listed = await bucket.listUploads({ prefix: 'orphans/' })
    expect(listed.map((u) => [u.key, u.uploadId])).toEqual([['orphans/one', created.UploadId]])
    const seen: string[] = []
    for await (const u of bucket.listUploads()) seen.push(u.key)
    expect(seen.sort()).toEqual(['elsewhere/two', 'orphans/one'])
    expect(await bucket.abortUploads({ prefix: 'orphans/', olderThan: 3600_000 })).toEqual([])
    const aborted = await bucket.abortUploads({ prefix: 'orphans/', olderThan: new Date(Date.now() + 60_000) })
    expect(aborted).toMatchObject([{ ok: true, key: 'orphans/one', value: { uploadId: created.UploadId } }])
    expect(await bucket.listUploads({ prefix: 'orphans/' })).toEqual([])
    const rest = await bucket.abortUploads()
    expect(rest.map((r) => [r.ok, r.key])).toEqual([[true, 'elsewhere/two']])
  })
})
