/**
 * The run's objects: where its keys go, the check that a prefix holds nothing else, the pool of
 * objects the measured phase reads, preparation and cleanup.
 *
 * Every key a client writes is `<prefix><runId>/<clientId>/<n>`; cleanup deletes exactly the
 * keys under `<prefix><runId>/<clientId>/` (and aborts multipart uploads under it), so a run never
 * touches an object it did not write.
 * @packageDocumentation
 */
import { InvalidArgumentError, abortUploads, deleteObjects, listPages, putObjects, type Bucket } from '../index.js'
import type { Random, SizeSpec } from './sizes.js'

/** Letters, digits, '.', '_' and '-': safe in keys and file names. */
export const ID = /^[A-Za-z0-9._-]{1,64}$/

/**
 * Refuse a prefix that holds objects other than this run's (other clients of the same run may
 * have begun), unless `reuse`; refuse always when this client's own key space is not empty.
 * Costs one or two small listings.
 */
export async function checkPrefix(bucket: Bucket, prefix: string, runId: string, base: string, reuse: boolean, signal?: AbortSignal): Promise<void> {
  const runPrefix = `${prefix}${runId}/`
  const where = `s3://${bucket.name}/${prefix}`
  if (!reuse) {
    for await (const page of listPages(bucket, { prefix, delimiter: '/', pageSize: 1000, ...(signal ? { signal } : {}) })) {
      const foreign = page.objects[0]?.key ?? page.prefixes.find((p) => p !== runPrefix)
      if (foreign !== undefined) {
        throw new InvalidArgumentError(
          `${where} already holds objects that are not this run's (e.g. ${JSON.stringify(foreign)}): choose an empty prefix, or pass reuse (--reuse) to run beside them (they are never touched)`,
          { argument: 'prefix', bucket: bucket.name, key: foreign },
        )
      }
    }
  }
  for await (const page of listPages(bucket, { prefix: base, pageSize: 1, ...(signal ? { signal } : {}) })) {
    const own = page.objects[0]?.key
    if (own !== undefined) {
      throw new InvalidArgumentError(
        `s3://${bucket.name}/${base} already holds objects (e.g. ${JSON.stringify(own)}): this run id and client id were used before; choose another run id or client id`,
        {
          argument: 'runId',
          bucket: bucket.name,
          key: own,
        },
      )
    }
    break
  }
}

/** One object of the pool. */
interface Entry {
  id: number
  size: number
  /** GETs, HEADs and copies reading it now. */
  readers: number
  /** A PUT or DELETE of it is under way. */
  writing: boolean
}

/**
 * The objects the measured phase reads (get, stat, copy, list, mixed) or consumes (delete).
 * Reads never pick an object being written or deleted, and writes never pick one being read, so
 * no request fails because of another request of the same run. Memory: ~60 bytes per object.
 */
export class ObjectPool {
  readonly #entries: Entry[] = []
  #nextId = 0
  constructor(readonly base: string) {}
  get size(): number {
    return this.#entries.length
  }
  key(id: number): string {
    return `${this.base}${id}`
  }
  /** A fresh object id (for a new key). */
  newId(): number {
    return this.#nextId++
  }
  add(id: number, size: number): void {
    this.#entries.push({ id, size, readers: 0, writing: false })
  }
  /** Take an object to read; call the returned function when done. */
  read(random: Random): { id: number; size: number; release: () => void } | undefined {
    for (let attempt = 0; attempt < 16 && this.#entries.length > 0; attempt++) {
      const e = this.#entries[random.below(this.#entries.length)]!
      if (e.writing) continue
      e.readers++
      return { id: e.id, size: e.size, release: () => void e.readers-- }
    }
    return undefined
  }
  /** Take an object out of the pool to delete it. */
  take(random: Random): number | undefined {
    for (let attempt = 0; attempt < 16 && this.#entries.length > 0; attempt++) {
      const i = random.below(this.#entries.length)
      const e = this.#entries[i]!
      if (e.writing || e.readers > 0) continue
      this.#entries[i] = this.#entries[this.#entries.length - 1]!
      this.#entries.pop()
      return e.id
    }
    return undefined
  }
  /** Take an object to overwrite; `done(size)` puts it back with its new size (or the old one after a failure). */
  overwrite(random: Random): { id: number; done: (size?: number) => void } | undefined {
    for (let attempt = 0; attempt < 16 && this.#entries.length > 0; attempt++) {
      const e = this.#entries[random.below(this.#entries.length)]!
      if (e.writing || e.readers > 0) continue
      e.writing = true
      return {
        id: e.id,
        done: (size) => {
          e.writing = false
          if (size !== undefined) e.size = size
        },
      }
    }
    return undefined
  }
}

/** Upload `count` objects of sizes from `sizes` into the pool, `concurrency` at a time. Throws the first failure. */
export async function prepareObjects(
  bucket: Bucket,
  pool: ObjectPool,
  count: number,
  sizes: SizeSpec,
  random: Random,
  payload: Buffer,
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> {
  const planned = new Map<string, { id: number; size: number }>()
  function* items() {
    for (let i = 0; i < count; i++) {
      const id = pool.newId()
      const size = random.size(sizes)
      const offset = random.below(payload.length - size + 1)
      planned.set(pool.key(id), { id, size })
      yield { source: payload.subarray(offset, offset + size), key: pool.key(id) }
    }
  }
  const stage = putObjects(bucket, { concurrency, ordered: false, stopOnError: true, ...(signal ? { signal } : {}) })
  for await (const r of stage(items())) {
    if (!r.ok) throw r.error
    const p = planned.get(r.key)!
    planned.delete(r.key)
    pool.add(p.id, p.size)
  }
}

/**
 * Delete every object under `base` and abort the multipart uploads under it. After an abort, a
 * PUT whose bytes had all reached the server may still be stored after the first listing: the
 * listing is repeated after a pause until one finds nothing (at most five passes).
 */
export async function cleanupObjects(bucket: Bucket, base: string): Promise<{ deleted: number; failed: number; aborted: number }> {
  let deleted = 0
  let failed = 0
  for (let pass = 0; pass < 5; pass++) {
    if (pass > 0) await new Promise((resolve) => setTimeout(resolve, 300))
    let found = 0
    for await (const r of deleteObjects(bucket, { concurrency: 4 })(bucket.list(base))) {
      found++
      if (r.ok) deleted++
      else failed++
    }
    if (found === 0 && pass > 0) break
  }
  let aborted = 0
  for (const r of await abortUploads(bucket, { prefix: base })) if (r.ok) aborted++
  return { deleted, failed, aborted }
}
