/**
 * One timed request of each kind, through the library's public stages (so the benchmark
 * measures bucketflow itself): `putObject`, `streamObject`, `headObject`, `deleteObject` /
 * `deleteObjects`, `listPages`, `copyObject`, `putStream` (the multipart sink).
 * @packageDocumentation
 */
import {
  IntegrityError,
  putStream,
  copyObject,
  deleteObject,
  deleteObjects,
  streamObject,
  headObject,
  listPages,
  putObject,
  type Bucket,
  type ListPage,
} from '../index.js'
import type { ObjectPool } from './objects.js'
import type { Random, SizeSpec } from './sizes.js'
import type { BenchOperation } from './types.js'

/** What a request did (its timing is taken around it). */
export interface OpResult {
  size: number
  objects: number
  /** Milliseconds from the request's start to the first byte (get). */
  ttfb: number | null
}

/** Everything an operation needs. */
export interface OpContext {
  bucket: Bucket
  pool: ObjectPool
  random: Random
  sizes: SizeSpec
  /** Random bytes that payloads are cut from (longer than the largest single-request size). */
  payload: Buffer
  partSize: number
  queueSize: number
  pageSize: number
  batch: number
  /** Objects the mixed workload keeps at most (puts beyond it overwrite). */
  poolLimit: number
}

/** No object to work on (all busy, or none left): the worker picks again, or stops for delete. */
export class NoObject extends Error {}

/** Bytes for one request: a slice of the payload at a random offset. */
function slice(ctx: OpContext, size: number): Buffer {
  const offset = ctx.random.below(ctx.payload.length - size + 1)
  return ctx.payload.subarray(offset, offset + size)
}

/** `size` bytes as 1 MiB chunks cut from the payload (repeating it when longer). */
async function* chunks(ctx: OpContext, size: number): AsyncGenerator<Buffer> {
  const chunk = 1024 * 1024
  let offset = ctx.random.below(Math.max(1, ctx.payload.length - chunk))
  for (let sent = 0; sent < size; ) {
    const n = Math.min(chunk, size - sent, ctx.payload.length - offset)
    yield ctx.payload.subarray(offset, offset + n)
    sent += n
    offset = (offset + n) % ctx.payload.length
  }
}

/** A list of pages per worker: each list request continues where the worker's last one stopped. */
const listings = new WeakMap<OpContext, Map<number, AsyncGenerator<ListPage>>>()

/** Run one request of kind `op`; throws the typed error of a failed request. */
export async function runOperation(ctx: OpContext, op: BenchOperation, worker: number, signal: AbortSignal, started: number): Promise<OpResult> {
  const { bucket, pool, random } = ctx
  switch (op) {
    case 'put': {
      // Mixed keeps its pool bounded: past the limit a put overwrites an object nobody is reading.
      if (ctx.poolLimit > 0 && pool.size >= ctx.poolLimit) {
        const slot = pool.overwrite(random)
        if (!slot) throw new NoObject()
        const size = random.size(ctx.sizes)
        try {
          await putObject(bucket, slice(ctx, size), pool.key(slot.id), { signal })
          slot.done(size)
        } catch (err) {
          slot.done()
          throw err
        }
        return { size, objects: 1, ttfb: null }
      }
      const id = pool.newId()
      const size = random.size(ctx.sizes)
      await putObject(bucket, slice(ctx, size), pool.key(id), { signal })
      if (ctx.poolLimit > 0) pool.add(id, size)
      return { size, objects: 1, ttfb: null }
    }
    case 'get': {
      const obj = pool.read(random)
      if (!obj) throw new NoObject()
      try {
        let ttfb: number | null = null
        let got = 0
        for await (const chunk of streamObject(bucket, pool.key(obj.id), { signal }) as AsyncIterable<Buffer>) {
          if (ttfb === null) ttfb = performance.now() - started
          got += chunk.length
        }
        if (got !== obj.size)
          throw new IntegrityError(`GET s3://${bucket.name}/${pool.key(obj.id)} returned ${got} bytes, the object has ${obj.size}`, {
            bucket: bucket.name,
            key: pool.key(obj.id),
          })
        return { size: got, objects: 1, ttfb: ttfb ?? performance.now() - started }
      } finally {
        obj.release()
      }
    }
    case 'stat': {
      const obj = pool.read(random)
      if (!obj) throw new NoObject()
      try {
        const info = await headObject(bucket, pool.key(obj.id), { signal })
        if (info.size !== obj.size)
          throw new IntegrityError(`HEAD s3://${bucket.name}/${pool.key(obj.id)} answered ${info.size} bytes, the object has ${obj.size}`, {
            bucket: bucket.name,
            key: pool.key(obj.id),
          })
        return { size: 0, objects: 1, ttfb: null }
      } finally {
        obj.release()
      }
    }
    case 'delete': {
      if (ctx.batch === 1) {
        const id = pool.take(random)
        if (id === undefined) throw new NoObject()
        await deleteObject(bucket, pool.key(id), { signal })
        return { size: 0, objects: 1, ttfb: null }
      }
      const keys: string[] = []
      for (let id = pool.take(random); id !== undefined; id = keys.length < ctx.batch ? pool.take(random) : undefined) keys.push(pool.key(id))
      if (keys.length === 0) throw new NoObject()
      for await (const r of deleteObjects(bucket, { batchSize: ctx.batch, concurrency: 1, signal })(keys)) if (!r.ok) throw r.error
      return { size: 0, objects: keys.length, ttfb: null }
    }
    case 'list': {
      let mine = listings.get(ctx)
      if (!mine) listings.set(ctx, (mine = new Map()))
      let pages = mine.get(worker)
      for (let fresh = false; ; fresh = true) {
        if (!pages) {
          pages = listPages(bucket, { prefix: pool.base, pageSize: ctx.pageSize, signal })
          mine.set(worker, pages)
        }
        let next: IteratorResult<ListPage>
        try {
          next = await pages.next()
        } catch (err) {
          mine.delete(worker)
          throw err
        }
        if (!next.done) return { size: 0, objects: next.value.objects.length, ttfb: null }
        mine.delete(worker)
        pages = undefined
        if (fresh) return { size: 0, objects: 0, ttfb: null }
      }
    }
    case 'copy': {
      const obj = pool.read(random)
      if (!obj) throw new NoObject()
      try {
        await copyObject(bucket, pool.key(obj.id), pool.key(pool.newId()), { signal })
        return { size: obj.size, objects: 1, ttfb: null }
      } finally {
        obj.release()
      }
    }
    case 'multipart': {
      const size = random.size(ctx.sizes)
      const result = await putStream(bucket, chunks(ctx, size), pool.key(pool.newId()), { partSize: ctx.partSize, queueSize: ctx.queueSize, signal })
      if (result.size !== size) throw new IntegrityError(`multipart upload stored ${result.size} bytes of ${size}`, { bucket: bucket.name })
      return { size, objects: 1, ttfb: null }
    }
  }
}

/** Stop the listings the workers left open (their generators abort any request in flight). */
export async function closeListings(ctx: OpContext): Promise<void> {
  const mine = listings.get(ctx)
  if (!mine) return
  await Promise.all([...mine.values()].map((g) => g.return(undefined).catch(() => undefined)))
  mine.clear()
}
