/**
 * `Bucket`: the verbs of hostess's Bucket, typed and stream-first. Each verb works on one item
 * (a plain async method) or, given arrays, on many in parallel with bounded concurrency
 * (`bucket.concurrency`, default 8), resolving to one {@link Result} per input in input order.
 *
 * @example
 * ```ts
 * import { Bucket } from 'bucketflow'
 * const bucket = await Bucket.create('cats')
 * await bucket.put('# cat pictures', 'README.md', { literal: true })
 * console.log(await bucket.read('README.md'))
 * const [png1, png2] = [Buffer.from('png 1'), Buffer.from('png 2')]
 * const results = await bucket.put([png1, png2], ['cute/1.png', 'cute/2.png'])
 * ```
 * @packageDocumentation
 */
import { stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { Writable, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import type { Table } from 'apache-arrow'
import type { S3Client } from '@aws-sdk/client-s3'
import { buildTransport, transportKind, type BucketRef, type StorageClass } from './bucket-ref.js'
import type { Transport, TransportKind } from './transport/types.js'
import type { PutSource, StreamSource } from './body.js'
import { checkSource } from './body.js'
import { createClient, type ClientOptions } from './client.js'
import { InvalidArgumentError, NoSuchKeyError, toBucketflowError } from './errors.js'
import { compareKeys } from './keys.js'
import { walkFiles } from './local-files.js'
import { collect, type Result, type StageOptions } from './results.js'
import { createStage } from './stages/factory.js'
import { copyObject, copyObjects, type CopyOptions, type CopyResult } from './stages/copy.js'
import { deleteObject, deleteObjects } from './stages/delete.js'
import { getObject, getObjects, getToFile, streamObject, type ByteRange, type GetOptions } from './stages/get/index.js'
import { headObject, headObjects, type ObjectInfo } from './stages/head.js'
import { listObjects, listPages, type ListOptions, type ObjectEntry, type PrefixEntry } from './stages/list.js'
import { abortUploads, listUploads, type AbortUploadsOptions, type UploadInfo } from './stages/uploads.js'
import type { IndexOptions } from './arrow/index-table.js'
import { appendObject, type AppendOptions, type AppendResult } from './stages/append.js'
import { tail, type Tail, type TailMarker, type TailOptions } from './stages/tail/index.js'
import { createWriteStream, putStream, type MultipartSink, type WriteStreamOptions, type WriteStreamResult } from './upload/multipart.js'
import { createLogStream, type LogSink, type LogStreamOptions } from './sinks/rotating.js'
import { putObject, putObjects, type PutOptions, type PutResult } from './stages/put.js'
import { freezeObject, freezeObjects, restoreObject, restoreObjects, type RestoreOptions } from './stages/storage-class.js'
import { describeValue, validateBucketName, validateConcurrency, validateKey, validateSameLength } from './validate.js'
import { CreateBucketCommand, DeleteBucketCommand } from './aws-sdk.cjs'

/** Options for `new Bucket(name, options)`. */
export interface BucketOptions extends ClientOptions {
  /** Default concurrency of parallel (array) calls and stages. Default 8. */
  concurrency?: number
  /**
   * The request layer of the hot-path operations (GET, PUT, HEAD, listing, batch delete, copy,
   * multipart): `fast` (undici, SigV4 with the SDK signer's signing key, and a small reader for S3's XML
   * answers: a fraction of the SDK's CPU per request) or `sdk` (every request through the
   * S3Client's own middleware stack). Credentials, region, endpoint rules and retry semantics
   * are the client's either way; rare operations (restore, tagging, bucket admin) always go
   * through the S3Client. The environment variable `BUCKETFLOW_TRANSPORT` sets the default.
   * @default 'fast', or 'sdk' when a `client` is given
   */
  transport?: TransportKind
}

/** Options of the parallel (array) forms. */
export type ParallelOptions = Pick<StageOptions, 'concurrency' | 'signal' | 'stopOnError'>

/** Options of the array forms of `get`: a range, verification and part size, and the parallel options. */
export type GetManyOptions = ByteRange & Pick<GetOptions, 'verify' | 'partSize'> & ParallelOptions

/** Options for `ls`. */
export interface LsOptions {
  /** List every key under the prefix instead of one level ('/'-delimited). Default false. */
  recursive?: boolean
  startAfter?: string
  /** Delimiter for non-recursive listings. Default '/'. */
  delimiter?: string
  signal?: AbortSignal
}

/**
 * A listing: iterate it with `for await` (one page in memory at a time), or `await` it for an
 * array of every entry.
 *
 * @example
 * ```ts
 * const listing = bucket.list('logs/2024/')
 * for await (const key of listing) if (key.endsWith('.gz')) console.log(key) // streamed, page by page
 * const all: string[] = await bucket.list('logs/2024/') // or every key at once
 * ```
 */
export class Listing<T> implements AsyncIterable<T>, PromiseLike<T[]> {
  constructor(private readonly source: () => AsyncIterable<T>) {}
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.source()[Symbol.asyncIterator]()
  }
  /** Collect every entry into an array. */
  toArray(): Promise<T[]> {
    return collect(this.source())
  }
  then<A = T[], B = never>(
    onfulfilled?: ((value: T[]) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.toArray().then(onfulfilled, onrejected)
  }
}

/**
 * Keys for the parallel forms: an array, or any other iterable of key strings (a Set, a
 * generator, an Arrow column like `index.getChild('Key')`), or an async iterable (a
 * `bucket.list()`, streamed with bounded memory where no second list must match it). A null
 * in it fails its own item.
 */
export type KeyList = Iterable<string> | Iterable<string | null> | AsyncIterable<string>

/** Options of a folder upload (`bucket.put(dir, 'prefix/')`). */
export interface FolderOptions {
  /** Follow symbolic links under the folder. With false they are skipped. Default true. */
  followSymlinks?: boolean
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return value != null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'
}

/** A list of keys: any (async) iterable but a string. */
function isKeyList(value: unknown): boolean {
  return typeof value !== 'string' && (isIterable(value) || (value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'))
}

/** The keys of a list as one array (for forms that pair them with a second list). */
async function keyArray(keys: KeyList): Promise<string[]> {
  return (Symbol.asyncIterator in Object(keys) ? await collect(keys as AsyncIterable<string>) : Array.from(keys as Iterable<string>)) as string[]
}

/** The keys of a list as a stage source (streamed, not copied). */
function keySource(keys: KeyList): AsyncIterable<string> | Iterable<string> {
  return keys as AsyncIterable<string> | Iterable<string>
}

/** A list of sources: any iterable but a string or bytes (which are one source). */
function isSourceList(value: unknown): value is Iterable<PutSource> {
  return typeof value !== 'string' && !(value instanceof Uint8Array) && isIterable(value)
}

function isWritable(value: unknown): value is Writable {
  return (
    value instanceof Writable ||
    (value != null &&
      typeof value === 'object' &&
      typeof (value as Writable).write === 'function' &&
      typeof (value as Writable).on === 'function' &&
      typeof (value as Writable).end === 'function')
  )
}

/** Options, not a destination: a plain object that is no path, URL, Writable or list. */
function isOptionsObject(value: unknown): boolean {
  return value != null && typeof value === 'object' && !(value instanceof URL) && !isWritable(value) && !isIterable(value)
}

/** A `file:` URL as a path; any other URL is refused; other values pass through. */
function fileUrlPath<T>(value: T | URL, argument: string): T | string {
  if (!(value instanceof URL)) return value
  if (value.protocol !== 'file:') throw new InvalidArgumentError(`Expected ${argument} to be a local path or a file: URL, got ${value.href}`, { argument })
  return fileURLToPath(value)
}

/**
 * An S3 bucket and the verbs to work with its objects.
 *
 * @example
 * ```ts
 * const bucket = new Bucket('cats', { endpoint: 'http://127.0.0.1:7480' })
 * await bucket.put('meow', 'hello.txt', { literal: true })
 * console.log(await bucket.read('hello.txt'), (await bucket.head('hello.txt')).size) // 'meow' 4
 * await bucket.close()
 * ```
 */
export class Bucket implements BucketRef {
  /** The bucket's name. */
  readonly name: string
  /** The S3 client every request goes through. */
  readonly client: S3Client
  /** The last index built by {@link Bucket.index} or {@link Bucket.updateContents}. */
  contents: Table | undefined
  #contentsKey: string | undefined
  #concurrency: number
  readonly #transportKind: TransportKind
  readonly #ownClient: boolean
  #transport: Transport | undefined

  /**
   * @param name - bucket name (validated: 3-63 chars of a-z, 0-9, '.', '-')
   * @param options - client options (endpoint, region, credentials, client) and concurrency
   * @example
   * ```ts
   * const bucket = new Bucket('my-data', { endpoint: 'http://127.0.0.1:7480', concurrency: 16 })
   * ```
   */
  constructor(name: string, options: BucketOptions = {}) {
    validateBucketName(name)
    const concurrency = options.concurrency ?? 8
    validateConcurrency(concurrency)
    this.name = name
    this.#concurrency = concurrency
    this.#transportKind = transportKind(options.transport, options.client ? 'sdk' : 'fast')
    this.#ownClient = !options.client
    this.client = createClient({ ...options, concurrency: Math.max(concurrency, 8) })
  }

  /**
   * The request layer this bucket's hot-path operations go through (built on first use over
   * {@link Bucket.client}). Its `kind` says which one: `fast` or `sdk`.
   *
   * @example
   * ```ts
   * console.log(new Bucket('data').transport.kind) // 'fast'
   * ```
   */
  get transport(): Transport {
    this.#transport ??= buildTransport(this.client, this.#transportKind, { concurrency: this.#concurrency, timeouts: this.#ownClient })
    return this.#transport
  }

  /**
   * Close the connections the `fast` transport keeps open (idle keep-alive sockets do not keep
   * the process alive, so this is for tidy shutdowns). Requests after `close()` fail; a client
   * you passed in is left open.
   *
   * @example
   * ```ts
   * const bucket = new Bucket('data')
   * try { await bucket.put('hi', 'hello.txt', { literal: true }) } finally { await bucket.close() }
   * ```
   */
  async close(): Promise<void> {
    await this.#transport?.close()
  }

  /** Default number of items in flight for parallel calls and stages. */
  get concurrency(): number {
    return this.#concurrency
  }
  set concurrency(value: number) {
    validateConcurrency(value)
    this.#concurrency = value
  }

  /**
   * Create a bucket and return it. Creating one you already own is not an error.
   *
   * @example
   * ```ts
   * const bucket = await Bucket.create('cats-2024')
   * ```
   */
  static async create(name: string, options: BucketOptions = {}): Promise<Bucket> {
    const bucket = new Bucket(name, options)
    try {
      await bucket.client.send(new CreateBucketCommand({ Bucket: name }))
    } catch (err) {
      const e = err as { name?: string; Code?: string }
      if ((e.name ?? e.Code) !== 'BucketAlreadyOwnedByYou') throw toBucketflowError(err, { bucket: name, operation: 'CreateBucket' })
    }
    return bucket
  }

  /**
   * Delete the bucket. With `{ force: true }`, first delete every object in it (and abort its
   * unfinished multipart uploads).
   *
   * @example
   * ```ts
   * await bucket.delete({ force: true })
   * ```
   */
  async delete(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) {
      for await (const r of deleteObjects(this)(this.list())) if (!r.ok) throw r.error
      for (const r of await abortUploads(this)) if (!r.ok) throw r.error
    }
    try {
      await this.client.send(new DeleteBucketCommand({ Bucket: this.name }))
    } catch (err) {
      throw toBucketflowError(err, { bucket: this.name, operation: 'DeleteBucket' })
    }
  }

  #parallel(options: ParallelOptions): StageOptions {
    return { concurrency: this.#concurrency, ...options, ordered: true }
  }

  /**
   * Upload. `source` is a Buffer/Uint8Array, a local file path (or `file:` URL), a string with
   * `{ literal: true }`, a Readable, an AsyncIterable of chunks, a web ReadableStream, or null
   * for an empty object. A file's content type comes from its extension unless `contentType` is
   * given.
   *
   * Folders: a local path with a key that is a prefix ending in `/` (or `''`, the bucket's
   * root) uploads a folder's files under that prefix (`photos/cat.png` -> `cats/cat.png`), or
   * one file as `prefix + its name`, in parallel, and resolves to one result per file. Symbolic
   * links are followed (`followSymlinks: false` skips them); a link to a missing target fails
   * its own item.
   *
   * Given lists (arrays, or any iterable: a Set, a generator) of sources and keys, uploads them
   * in parallel and resolves to one result per item.
   *
   * @example
   * ```ts
   * await bucket.put('./report.csv', 'reports/2024.csv')
   * await bucket.put('hello', 'hello.txt', { literal: true, contentType: 'text/plain' })
   * const [buf1, buf2] = [Buffer.alloc(1024), Buffer.alloc(2048)]
   * const results = await bucket.put([buf1, buf2], ['a.bin', 'b.bin'])
   * const uploaded = await bucket.put('./photos', 'cats/') // every file under ./photos
   * ```
   */
  put(
    folder: string | URL,
    prefix: '' | `${string}/`,
    options?: PutOptions & ParallelOptions & FolderOptions & { literal?: false },
  ): Promise<Result<PutResult>[]>
  put(source: PutSource | URL, key: string, options?: PutOptions): Promise<PutResult>
  put(sources: Iterable<PutSource>, keys: KeyList, options?: PutOptions & ParallelOptions): Promise<Result<PutResult>[]>
  async put(
    source: PutSource | URL | Iterable<PutSource>,
    key: string | KeyList,
    options: PutOptions & ParallelOptions & FolderOptions = {},
  ): Promise<PutResult | Result<PutResult>[]> {
    if (isKeyList(key)) {
      if (!isSourceList(source)) throw invalidList('sources', source)
      const sources = Array.from(source)
      const keys = await keyArray(key as KeyList)
      validateSameLength(sources, keys, 'sources', 'keys')
      const items = sources.map((s, i) => ({ source: s, key: keys[i] as string }))
      return collect(putObjects(this, { ...options, ...this.#parallel(options) })(items))
    }
    const src = fileUrlPath(source, 'source')
    if (typeof src === 'string' && !options.literal && typeof key === 'string') {
      const info = await stat(src).catch(() => undefined)
      if (key === '' || key.endsWith('/')) {
        if (info?.isDirectory()) return this.#putFolder(src, key, options)
        if (info) return collect(putObjects(this, { ...options, ...this.#parallel(options) })([{ source: src, key: key + basename(src) }]))
      } else if (info?.isDirectory()) {
        throw new InvalidArgumentError(`Source path ${src} is a folder; to upload the files in it, pass a key prefix ending in "/" (e.g. "${key}/")`, {
          argument: 'source',
          bucket: this.name,
          key,
        })
      }
    }
    checkSource(src, typeof key === 'string' ? key : undefined)
    return putObject(this, src as PutSource, key as string, options)
  }

  /** Upload every file under `folder` to `prefix + relative path`, one result per file. */
  async #putFolder(folder: string, prefix: string, options: PutOptions & ParallelOptions & FolderOptions): Promise<Result<PutResult>[]> {
    const { followSymlinks, ...rest } = options
    const problems: Result<PutResult>[] = []
    const self = this
    async function* items() {
      for await (const f of walkFiles(folder, { followSymlinks: followSymlinks ?? true, ...(options.signal ? { signal: options.signal } : {}) })) {
        const key = prefix + f.relativePath
        if (f.kind === 'problem')
          problems.push({ ok: false, key, error: new InvalidArgumentError(f.error.message, { argument: 'source', bucket: self.name, key, cause: f.error }) })
        else yield { source: f.path, key }
      }
    }
    const uploaded = await collect(putObjects(this, { ...rest, ...this.#parallel(rest) })(items()))
    return [...uploaded, ...problems].sort((a, b) => compareKeys(a.key, b.key))
  }

  /**
   * Download into memory (a Buffer), into a local file (a path or `file:` URL; an existing
   * folder, or a path ending in '/', receives the object under its key's last segment), or into a
   * Writable. Given a list of keys (an array, or any iterable: a Set, a generator, an Arrow
   * column such as `index.getChild('Key')`), downloads in parallel: into Buffers, into the given
   * destination paths, or, with one folder, into that folder mirroring the keys as paths (a key
   * that would escape the folder fails alone); `relativeTo: 'logs/'` drops that folder from the
   * paths (`logs/2024/a` -> `dir/2024/a`); a key that would escape the folder, by text or through a
   * symbolic link, fails alone. Ranges: `{ start, end }` or `{ offset, length }`, Python slice
   * semantics (an end past the object is clamped). Every download is verified (checksum, ETag MD5
   * or length; `verify: false` to skip): see `onVerified`, or `verified` on each result of the
   * array forms.
   *
   * @example
   * ```ts
   * const buf = await bucket.get('cute/1.png')
   * await bucket.get('cute/1.png', './cat.png')
   * await bucket.get('big.csv', process.stdout)
   * const last100 = await bucket.get('log.txt', { start: -100 })
   * const keys = ['cute/1.png', 'cute/2.png']
   * const results = await bucket.get(keys, 'mirror/') // files under mirror/
   * console.log(results.map((r) => (r.ok ? r.verified : r.error.code))) // ['md5', ...]
   * await bucket.get(bucket.list('logs/'), 'mirror', { relativeTo: 'logs/' }) // logs/2024/a -> mirror/2024/a
   * ```
   */
  get(key: string, options?: GetOptions): Promise<Buffer>
  get(key: string, destination: string | URL, options?: GetOptions): Promise<string>
  get(key: string, destination: Writable, options?: GetOptions): Promise<void>
  get(keys: KeyList, options?: GetManyOptions): Promise<Result<Buffer>[]>
  get(keys: KeyList, destination: string | URL, options?: GetManyOptions & { relativeTo?: string }): Promise<Result<string>[]>
  get(keys: KeyList, destinations: Iterable<string | URL>, options?: GetManyOptions): Promise<Result<string>[]>
  async get(
    key: string | KeyList,
    destination?: string | URL | Writable | Iterable<string | URL> | (GetOptions & ParallelOptions & { relativeTo?: string }),
    options: GetOptions & ParallelOptions & { relativeTo?: string } = {},
  ): Promise<Buffer | string | void | Result<Buffer>[] | Result<string>[]> {
    const isOptions = isOptionsObject(destination)
    const opts = isOptions ? (destination as GetOptions & ParallelOptions & { relativeTo?: string }) : options
    const dest = isOptions ? undefined : fileUrlPath(destination, 'destination')
    if (isKeyList(key)) {
      const stageOptions = { ...opts, ...this.#parallel(opts) }
      if (isKeyList(dest)) {
        const keys = await keyArray(key as KeyList)
        const dests = Array.from(dest as Iterable<string | URL>, (d) => fileUrlPath(d, 'destinations') as string)
        validateSameLength(keys, dests, 'keys', 'destinations')
        const items = keys.map((k, i) => ({ key: k, destination: dests[i]! }))
        return collect(getObjects(this, stageOptions)(items)) as Promise<Result<string>[]>
      }
      // A null key (from a nullable column) fails its own item with a clear message.
      const items = (async function* () {
        for await (const k of key as AsyncIterable<string | null>) yield k === null ? ({ key: k } as unknown as string) : k
      })()
      if (typeof dest === 'string') return collect(getObjects(this, { ...stageOptions, destination: dest })(items)) as Promise<Result<string>[]>
      if (dest !== undefined)
        throw new InvalidArgumentError(`Expected the destination of a list of keys to be a folder path or a list of paths, got ${describeValue(dest)}`, {
          argument: 'destination',
          bucket: this.name,
        })
      return collect(getObjects(this, stageOptions)(items)) as Promise<Result<Buffer>[]>
    }
    if (typeof key !== 'string') validateKey(key, this.name)
    const k = key as string
    if (isWritable(dest)) {
      await pipeline(streamObject(this, k, opts), dest)
      return
    }
    if (typeof dest === 'string') {
      // A folder (existing, or named with a final '/') receives the object under its own name, as with cp.
      const folder = /[\\/]$/.test(dest) || (await stat(dest).catch(() => undefined))?.isDirectory() === true
      return getToFile(this, k, folder && k !== '' && !k.endsWith('/') ? join(dest, basename(k)) : dest, opts)
    }
    if (dest !== undefined)
      throw new InvalidArgumentError(`Expected destination to be a file path, a file: URL or a Writable, got ${describeValue(dest)}`, {
        argument: 'destination',
        bucket: this.name,
        key: k,
      })
    return getObject(this, k, opts)
  }

  /**
   * Read an object as text (UTF-8 by default, like hostess), or as a Buffer with
   * `{ encoding: null }`. Ranges as in {@link Bucket.get}.
   *
   * @example
   * ```ts
   * const text = await bucket.read('README.md')
   * const firstLine = (await bucket.read('data.csv', { start: 0, end: 200 })).split('\n')[0]
   * ```
   */
  read(key: string, options?: GetOptions & { encoding?: BufferEncoding }): Promise<string>
  read(key: string, options: GetOptions & { encoding: null }): Promise<Buffer>
  async read(key: string, options: GetOptions & { encoding?: BufferEncoding | null } = {}): Promise<string | Buffer> {
    const { encoding = 'utf8', ...rest } = options
    const buf = await getObject(this, key, rest)
    return encoding === null ? buf : buf.toString(encoding)
  }

  /**
   * A Readable of the object's bytes (or a range of them). The request starts when it is read.
   *
   * @example
   * ```ts
   * import { createWriteStream } from 'node:fs'
   * import { pipeline } from 'node:stream/promises'
   * await pipeline(bucket.stream('big.csv'), createWriteStream('big.csv'))
   * ```
   */
  stream(key: string, options: GetOptions = {}): Readable {
    return streamObject(this, key, options)
  }

  /**
   * Object metadata: `{ key, size, etag, lastModified, storageClass, contentType, metadata,
   * restore }`. Given an array, HEADs in parallel.
   *
   * @example
   * ```ts
   * const { size, storageClass } = await bucket.head('cute/1.png')
   * ```
   */
  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo>
  head(keys: KeyList, options?: ParallelOptions): Promise<Result<ObjectInfo>[]>
  async head(key: string | KeyList, options: ParallelOptions = {}): Promise<ObjectInfo | Result<ObjectInfo>[]> {
    if (isKeyList(key)) return collect(headObjects(this, this.#parallel(options))(keySource(key as KeyList)))
    return headObject(this, key as string, options.signal ? { signal: options.signal } : {})
  }

  /**
   * Whether an object exists.
   *
   * @example
   * ```ts
   * if (!(await bucket.exists('done.marker'))) await bucket.put(null, 'done.marker')
   * ```
   */
  async exists(key: string): Promise<boolean> {
    try {
      await headObject(this, key)
      return true
    } catch (err) {
      if (err instanceof NoSuchKeyError) return false
      throw err
    }
  }

  /**
   * Server-side copy. `dst` defaults to `src` (for a storage-class or metadata change);
   * `destinationBucket` copies across buckets. Objects over 5 GiB are copied in parts.
   * Given arrays, copies in parallel.
   *
   * @example
   * ```ts
   * await bucket.cp('a.csv', 'backup/a.csv')
   * await bucket.cp('a.csv', undefined, { storageClass: 'STANDARD_IA' })
   * ```
   */
  cp(src: string, dst?: string, options?: CopyOptions): Promise<CopyResult>
  cp(srcs: KeyList, dsts?: KeyList, options?: CopyOptions & ParallelOptions): Promise<Result<CopyResult>[]>
  async cp(src: string | KeyList, dst?: string | KeyList, options: CopyOptions & ParallelOptions = {}): Promise<CopyResult | Result<CopyResult>[]> {
    if (isKeyList(src)) {
      if (dst !== undefined && !isKeyList(dst)) throw invalidList('destinations', dst)
      const stage = copyObjects(this, { ...options, ...this.#parallel(options) })
      if (dst === undefined) return collect(stage(keySource(src as KeyList)))
      const srcs = await keyArray(src as KeyList)
      const dsts = await keyArray(dst as KeyList)
      validateSameLength(srcs, dsts, 'sources', 'destinations')
      return collect(stage(srcs.map((s, i) => ({ source: s, destination: dsts[i]! }))))
    }
    if (isKeyList(dst)) throw invalidList('destination', dst)
    return copyObject(this, src as string, (dst as string | undefined) ?? (src as string), options)
  }

  /**
   * Move: copy, then delete the source. Given arrays, moves in parallel; an item whose copy
   * failed keeps its source.
   *
   * @example
   * ```ts
   * await bucket.mv('incoming/a.csv', 'processed/a.csv')
   * ```
   */
  mv(src: string, dst: string, options?: CopyOptions): Promise<CopyResult>
  mv(srcs: KeyList, dsts: KeyList, options?: CopyOptions & ParallelOptions): Promise<Result<CopyResult>[]>
  async mv(src: string | KeyList, dst: string | KeyList, options: CopyOptions & ParallelOptions = {}): Promise<CopyResult | Result<CopyResult>[]> {
    const moveOne = async (s: string, d: string, signal?: AbortSignal): Promise<CopyResult> => {
      const abort = signal ?? options.signal
      const copied = await copyObject(this, s, d, { ...options, ...(abort ? { signal: abort } : {}) })
      // An abort after the copy leaves the source in place (both copies exist; nothing is lost).
      if (copied.bucket !== this.name || copied.key !== s) await deleteObject(this, s, abort ? { signal: abort } : {})
      return copied
    }
    if (isKeyList(src)) {
      if (!isKeyList(dst)) throw invalidList('destinations', dst)
      const srcs = await keyArray(src as KeyList)
      const dsts = await keyArray(dst as KeyList)
      validateSameLength(srcs, dsts, 'sources', 'destinations')
      const items = srcs.map((s, i) => [s, dsts[i]!] as const)
      const stage = createStage<readonly [string, string], CopyResult>(this, this.#parallel(options), {
        keyOf: ([s]) => s,
        run: ([s, d], signal) => moveOne(s, d, signal),
      })
      return collect(stage(items))
    }
    if (isKeyList(dst)) throw invalidList('destination', dst)
    return moveOne(src as string, dst as string)
  }

  /**
   * Delete. Given an array, deletes in DeleteObjects batches of 1000 and resolves to one result
   * per key.
   *
   * @example
   * ```ts
   * await bucket.rm('tmp.txt')
   * const results = await bucket.rm(await bucket.list('tmp/').toArray())
   * ```
   */
  rm(key: string): Promise<void>
  rm(keys: KeyList, options?: ParallelOptions): Promise<Result<void>[]>
  async rm(key: string | KeyList, options: ParallelOptions = {}): Promise<void | Result<void>[]> {
    if (isKeyList(key)) return collect(deleteObjects(this, { ...options, ordered: true })(keySource(key as KeyList)))
    return deleteObject(this, key as string)
  }

  /**
   * Move objects to an archival storage class (default DEEP_ARCHIVE) by copying them onto
   * themselves.
   *
   * @example
   * ```ts
   * await bucket.freeze('raw/2019.tar')
   * await bucket.freeze(['a', 'b'], 'GLACIER')
   * ```
   */
  freeze(key: string, storageClass?: StorageClass): Promise<CopyResult>
  freeze(keys: KeyList, storageClass?: StorageClass, options?: ParallelOptions): Promise<Result<CopyResult>[]>
  async freeze(key: string | KeyList, storageClass: StorageClass = 'DEEP_ARCHIVE', options: ParallelOptions = {}): Promise<CopyResult | Result<CopyResult>[]> {
    if (isKeyList(key)) return collect(freezeObjects(this, { ...this.#parallel(options), storageClass })(keySource(key as KeyList)))
    return freezeObject(this, key as string, storageClass)
  }

  /**
   * Ask for a temporary readable copy of archived objects (`tier` default 'Bulk', `days`
   * default 5). Servers without RestoreObject raise NotImplementedError.
   *
   * @example
   * ```ts
   * await bucket.restore('raw/2019.tar', { tier: 'Standard', days: 2 })
   * ```
   */
  restore(key: string, options?: RestoreOptions): Promise<void>
  restore(keys: KeyList, options?: Omit<RestoreOptions, 'signal'> & ParallelOptions): Promise<Result<void>[]>
  async restore(key: string | KeyList, options: RestoreOptions & ParallelOptions = {}): Promise<void | Result<void>[]> {
    if (isKeyList(key)) return collect(restoreObjects(this, { ...options, ...this.#parallel(options) })(keySource(key as KeyList)))
    return restoreObject(this, key as string, options)
  }

  /**
   * List objects under a prefix: one level (objects and common prefixes, '/'-delimited) or,
   * with `recursive: true`, every key. Iterate it, or `await` it for an array.
   *
   * @example
   * ```ts
   * for await (const entry of bucket.ls('cats/')) console.log(entry.kind, entry.key)
   * const everything = await bucket.ls('', { recursive: true })
   * ```
   */
  ls(prefix = '', options: LsOptions = {}): Listing<ObjectEntry | PrefixEntry> {
    if (prefix !== '') validateKey(prefix, this.name, 'prefix')
    const listOptions: ListOptions = { prefix }
    if (!options.recursive) listOptions.delimiter = options.delimiter ?? '/'
    if (options.startAfter !== undefined) listOptions.startAfter = options.startAfter
    if (options.signal !== undefined) listOptions.signal = options.signal
    return new Listing(() => listObjects(this, listOptions))
  }

  /**
   * Every key under a prefix (recursive), as a stream of strings: the natural source of a
   * pipeline of stages.
   *
   * @example
   * ```ts
   * for await (const r of getObjects(bucket)(bucket.list('cats/'))) console.log(r.key)
   * ```
   */
  list(prefix = '', options: Omit<ListOptions, 'prefix' | 'delimiter'> = {}): Listing<string> {
    if (prefix !== '') validateKey(prefix, this.name, 'prefix')
    const self = this
    return new Listing(async function* () {
      for await (const page of listPages(self, { ...options, prefix })) for (const o of page.objects) yield o.key
    })
  }

  /**
   * A Writable that uploads what is written to it as the object `key`, in parts of `partSize`
   * (default 8 MiB, at least 5 MiB), `queueSize` (default 4) at once, with real backpressure.
   * Memory: at most `partSize * (queueSize + 1)` bytes of payload. A stream smaller than one
   * part is stored with a single PutObject. On error, `destroy()` or `signal`, the multipart
   * upload is aborted. Await `stream.done` for `{ key, size, etag, parts }`.
   *
   * @example
   * ```ts
   * import { pipeline } from 'node:stream/promises'
   * const rowsAsNdjson = [{ id: 1 }, { id: 2 }].map((row) => `${JSON.stringify(row)}\n`)
   * const sink = bucket.createWriteStream('exports/rows.ndjson', { contentType: 'application/x-ndjson' })
   * await pipeline(rowsAsNdjson, sink)
   * const { size, parts } = await sink.done
   * ```
   */
  createWriteStream(key: string, options: WriteStreamOptions = {}): MultipartSink {
    return createWriteStream(this, key, options)
  }

  /**
   * Upload a stream of unknown length (a Readable, an AsyncIterable of Uint8Array or string
   * chunks, or a web ReadableStream) through {@link Bucket.createWriteStream}. Resolves to
   * `{ key, size, etag, parts }`; on failure nothing is left on the server. Memory:
   * `partSize * (queueSize + 1)`.
   *
   * @example
   * ```ts
   * const res = await fetch('https://example.com/big.csv')
   * await bucket.putStream(res.body!, 'raw/big.csv', { partSize: 16 * 1024 * 1024 })
   * ```
   */
  async putStream(source: StreamSource, key: string, options: WriteStreamOptions = {}): Promise<WriteStreamResult> {
    return putStream(this, source, key, options)
  }

  /**
   * A Writable of rotating log objects under `prefix`, keyed by a UTC template (default
   * `<prefix><ISO basic time>-<seq>.log`) so they sort by time: a new object every `rotateMs`
   * (default 60 s) or `rotateBytes` (default 64 MiB), lines never split across objects,
   * optionally gzip/zstd-compressed or converted to Parquet, and spooled to disk first (`spool`)
   * so a crash loses nothing; `end()` flushes the last one. Memory: see `createLogStream`.
   *
   * @example
   * ```ts
   * const log = bucket.createLogStream('logs/api/', { rotateMs: 30_000 })
   * log.write('started\n')
   * log.end()
   * await log.done
   * ```
   */
  createLogStream(prefix: string, options: LogStreamOptions = {}): LogSink {
    return createLogStream(this, prefix, options)
  }

  /**
   * Follow an object as it grows (`tail -f`: one ranged GET from the last byte read every
   * `pollMs`, no HEAD; a shrunk or replaced object starts over, announced by a 'reset' event or
   * marker), or with `follow: 'rotation'` the new objects under a prefix, in key order; gzip and
   * zstd objects are decompressed. Iterate it for Buffers,
   * or `.lines()` for strings; stops on `break` or `signal`.
   *
   * @example
   * ```ts
   * for await (const line of bucket.tail('logs/api/', { follow: 'rotation', from: 'start' }).lines()) console.log(line)
   * ```
   */
  tail(keyOrPrefix: string, options?: TailOptions & { markers?: false }): Tail<Buffer>
  tail(keyOrPrefix: string, options: TailOptions & { markers: true }): Tail<Buffer | TailMarker>
  tail(keyOrPrefix: string, options?: TailOptions): Tail<Buffer> | Tail<Buffer | TailMarker>
  tail(keyOrPrefix: string, options: TailOptions = {}): Tail<Buffer> | Tail<Buffer | TailMarker> {
    return tail(this, keyOrPrefix, options)
  }

  /**
   * Append to an object of an S3 Express One Zone directory bucket (`WriteOffsetBytes`), or of
   * any bucket on Ceph radosgw (`?append&position=`). `data` is any source `put` takes, with the
   * same rule: a string is a file path unless `{ literal: true }`. Elsewhere it raises
   * NotDirectoryBucketError (on AWS without a request). Resolves to `{ key, offset, size, etag }`.
   *
   * @example
   * ```ts
   * const express = new Bucket('events--use1-az4--x-s3')
   * await express.append('{"ok":true}\n', 'events.ndjson', { literal: true })
   * await express.append('./batch-0042.ndjson', 'events.ndjson')
   * ```
   */
  append(data: PutSource | URL, key: string, options: AppendOptions = {}): Promise<AppendResult> {
    return appendObject(this, fileUrlPath(data, 'data') as PutSource, key, options)
  }

  /**
   * Unfinished multipart uploads, optionally under a prefix: iterate them, or `await` for an
   * array of `{ key, uploadId, initiated, storageClass }`.
   *
   * @example
   * ```ts
   * for await (const u of bucket.listUploads({ prefix: 'backups/' })) console.log(u.key, u.initiated)
   * ```
   */
  listUploads(options: { prefix?: string; signal?: AbortSignal } = {}): Listing<UploadInfo> {
    return new Listing(() => listUploads(this, options))
  }

  /**
   * Abort unfinished multipart uploads (like rclone `cleanup`), optionally under a prefix and
   * only those started more than `olderThan` ms ago (or before a Date). Resolves to one result
   * per upload.
   *
   * @example
   * ```ts
   * const results = await bucket.abortUploads({ olderThan: 24 * 3600_000 })
   * console.log(`aborted ${results.filter((r) => r.ok).length} uploads`)
   * ```
   */
  async abortUploads(options: AbortUploadsOptions = {}): Promise<Result<UploadInfo>[]> {
    return abortUploads(this, { concurrency: this.#concurrency, ...options })
  }

  /**
   * The bucket's index (hostess `df()`): an Arrow Table with one row per object (Key,
   * LastModified, ETag, Size, StorageClass), listed in parallel key ranges. The first call lists
   * the bucket, or, given `cache` (a Parquet file) that exists, reads it without a request; the
   * table is kept as `bucket.contents`, and later calls with the same prefix and columns return
   * it. `updateContents()` or `refresh: true` lists again (and rewrites `cache`).
   *
   * @example
   * ```ts
   * const index = await bucket.index()
   * const sizes = index.getChild('Size')!.toArray() // BigInt64Array
   * const cached = await bucket.index({ cache: 'cats-index.parquet' }) // persisted for next time
   * const inventoryBucket = new Bucket('inventory-reports')
   * const manifestKey = 'cats/daily/2024-06-01T01-00Z/manifest.json'
   * const fromInventory = await bucket.index({ source: { inventory: manifestKey, from: inventoryBucket } }) // no LIST at all
   * ```
   */
  async index(options: IndexOptions = {}): Promise<Table> {
    const key = contentsKey(options)
    if (this.contents && this.#contentsKey === key && !options.refresh) return this.contents
    return this.#index(options)
  }

  /**
   * List the bucket again and replace `bucket.contents` (rewriting `cache` when given).
   *
   * @example
   * ```ts
   * await bucket.rm(await bucket.list('tmp/'))
   * const fresh = await bucket.updateContents()
   * ```
   */
  async updateContents(options: IndexOptions = {}): Promise<Table> {
    return this.#index({ ...options, refresh: true })
  }

  /** Index through the cache file unless `refresh`; keep the table as `contents`. */
  async #index(options: IndexOptions): Promise<Table> {
    // Loaded on first use: Arrow and Parquet cost ~0.2 s and ~20 MiB to import, and most uses of
    // a Bucket never index it.
    const { indexBucket } = await import('./arrow/index-table.js')
    const table = await indexBucket(this, { concurrency: this.#concurrency, ...options })
    this.contents = table
    this.#contentsKey = contentsKey(options)
    return table
  }
}

function contentsKey(options: IndexOptions): string {
  const inventory = options.source?.inventory
  return JSON.stringify([
    options.prefix ?? '',
    options.columns ?? null,
    typeof inventory === 'object' ? inventory.key : (inventory ?? null),
    options.source?.from?.name ?? null,
  ])
}

function invalidList(name: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`Expected ${name} to be an array (the parallel form), got ${describeValue(value)}`, { argument: name })
}
