/**
 * Uploads, downloads, copies and moves with the path rules of `aws s3` (see targets.ts): the
 * work behind `put`, `get`, `cp` and `mv`.
 */
import { stat, unlink } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import {
  type Bucket,
  copyObject,
  copyObjects,
  type CopyOptions,
  deleteObject,
  getToFile,
  InvalidArgumentError,
  mapResults,
  NoSuchBucketError,
  putObject,
  putObjects,
  type PutOptions,
  type StorageClass,
  toBucketflowError,
  walkFiles,
} from '../index.js'
import { EXIT_OK, openBucket, s3Url, type CliContext, type GlobalOptions, type Output, type S3Url } from './common.js'
import type { PathFilter } from './filters.js'
import { runItems, type Planned, type Refused } from './run-items.js'
import { baseName, checkOneKey, folderOf, listSources, localTarget, singleKey, singleLocalTarget, type S3Source } from './targets.js'
import { HeadBucketCommand } from '../aws-sdk.cjs'

/** What the command line said about a transfer. */
export interface TransferFlags {
  recursive: boolean
  dryRun: boolean
  filter: PathFilter
  followSymlinks: boolean
  storageClass?: StorageClass
  contentType?: string
  contentEncoding?: string
}

/** Which command asked: `put`/`get` have their own conveniences; `cp`/`mv` follow aws exactly. */
export type Mode = 'put' | 'get' | 'cp' | 'mv'

/**
 * Fail early, with the bucket's name, when a destination bucket does not exist (instead of one
 * failure per item). A server that refuses HeadBucket is not taken to mean anything.
 */
export async function checkBucketExists(bucket: Bucket, signal: AbortSignal): Promise<void> {
  try {
    await bucket.client.send(new HeadBucketCommand({ Bucket: bucket.name }), { abortSignal: signal })
  } catch (err) {
    const e = toBucketflowError(err, { bucket: bucket.name, operation: 'HeadBucket' })
    if (e instanceof NoSuchBucketError || e.statusCode === 404)
      throw new NoSuchBucketError(`Bucket ${bucket.name} does not exist`, { bucket: bucket.name, cause: err })
    if (signal.aborted) throw e
  }
}

interface Upload extends Planned {
  path: string
}

/** `put` / `cp` / `mv` of local files, folders or stdin to S3. */
export async function upload(
  ctx: CliContext,
  out: Output,
  g: GlobalOptions,
  sources: string[],
  dest: S3Url,
  flags: TransferFlags,
  mode: Mode,
): Promise<number> {
  const bucket = openBucket(dest.bucket, g)
  const signal = ctx.signal
  const putOptions: PutOptions = {
    ...(flags.storageClass ? { storageClass: flags.storageClass } : {}),
    ...(flags.contentType ? { contentType: flags.contentType } : {}),
    ...(flags.contentEncoding ? { contentEncoding: flags.contentEncoding } : {}),
  }
  if (sources.includes('-')) {
    if (sources.length > 1) throw new InvalidArgumentError('Expected "-" (stdin) to be the only source', { argument: 'source' })
    if (mode === 'mv') throw new InvalidArgumentError('Cannot move stdin; use cp or put', { argument: 'source' })
    if (dest.key === '' || dest.key.endsWith('/')) throw new InvalidArgumentError('Uploading stdin needs a full key, not a prefix', { argument: 'destination' })
    const line = { op: 'upload' as const, source: '-', destination: s3Url(bucket.name, dest.key) }
    if (flags.dryRun) {
      out.data(`(dryrun) upload: - to ${line.destination}`, { dryRun: true, ...line, key: dest.key })
      return EXIT_OK
    }
    ctx.activity = { what: `upload of stdin to ${line.destination}`, done: 0, total: 1, cleanup: 'the multipart upload was aborted on the server' }
    const r = await bucket.put(ctx.io.stdin, dest.key, { ...putOptions, signal })
    ctx.activity.done = 1
    out.item(`upload: - to ${line.destination}`, { ok: true, ...line, key: r.key, value: r })
    return EXIT_OK
  }
  const infos: { source: string; folder: boolean; size: number }[] = []
  for (const source of sources) {
    const info = await stat(source).catch(() => undefined)
    if (!info) throw new InvalidArgumentError(`No such file or folder: ${source}`, { argument: 'source' })
    if (info.isDirectory() && mode !== 'put' && !flags.recursive) {
      throw new InvalidArgumentError(`${source} is a folder; pass --recursive to upload the files under it`, { argument: 'source' })
    }
    if (!info.isDirectory() && !info.isFile()) throw new InvalidArgumentError(`${source} is not a regular file or a folder`, { argument: 'source' })
    infos.push({ source, folder: info.isDirectory(), size: info.size })
  }
  const intoPrefix = dest.key === '' || dest.key.endsWith('/') || sources.length > 1
  const op = mode === 'mv' ? 'move' : 'upload'
  async function* plan(): AsyncGenerator<Upload | Refused> {
    for (const { source, folder, size } of infos) {
      if (folder) {
        const prefix = folderOf(dest.key)
        for await (const f of walkFiles(source, { followSymlinks: flags.followSymlinks, signal })) {
          if (!flags.filter.accepts(f.relativePath)) continue
          const key = prefix + f.relativePath
          const shown = join(source, f.relativePath)
          if (f.kind === 'problem') yield { refused: true, op, source: shown, destination: s3Url(bucket.name, key), error: f.error }
          else yield { op, source: shown, destination: s3Url(bucket.name, key), key, size: f.size, path: f.path }
        }
      } else {
        const name = basename(source)
        if (!flags.filter.accepts(name)) continue
        const key = intoPrefix ? folderOf(dest.key) + name : dest.key
        yield { op, source, destination: s3Url(bucket.name, key), key, size, path: source }
      }
    }
  }
  if (!flags.dryRun && infos.some((i) => i.folder)) await checkBucketExists(bucket, signal)
  const execute = (items: AsyncIterable<Upload>) => {
    if (mode !== 'mv') {
      return putObjects(bucket, { ...putOptions, signal })(
        (async function* () {
          for await (const p of items) yield { source: p.path, key: p.key }
        })(),
      )
    }
    return mapResults(
      items,
      (p) => p.key,
      async (p, itemSignal) => {
        const r = await putObject(bucket, p.path, p.key, { ...putOptions, signal: itemSignal })
        await unlink(p.path)
        return r
      },
      { concurrency: bucket.concurrency, signal, bucket: bucket.name },
    )
  }
  return runItems(
    ctx,
    out,
    { verb: op, what: `${op} to ${s3Url(bucket.name, dest.key)}`, cleanup: 'multipart uploads in flight were aborted on the server', dryRun: flags.dryRun },
    plan(),
    execute,
  )
}

interface Download extends Planned {
  target: string
}

/** `get` / `cp` / `mv` of S3 objects to local files, a folder or stdout. */
export async function download(ctx: CliContext, out: Output, g: GlobalOptions, src: S3Url, dest: string, flags: TransferFlags, mode: Mode): Promise<number> {
  const bucket = openBucket(src.bucket, g)
  const signal = ctx.signal
  // `get s3://b/p/` downloads the folder without --recursive (a convenience of `get`; `cp`
  // follows aws-cli, where a URL ending in / without --recursive names one object).
  const recursive = flags.recursive || (mode === 'get' && (src.key === '' || src.key.endsWith('/')))
  const op = mode === 'mv' ? 'move' : 'download'
  if (!recursive) {
    checkOneKey(src, 'download')
    if (!flags.filter.accepts(baseName(src.key))) return EXIT_OK
    if (dest === '-') {
      if (mode === 'mv') throw new InvalidArgumentError('Cannot move an object to stdout; use cp or get', { argument: 'destination' })
      if (flags.dryRun) {
        out.data(`(dryrun) download: ${s3Url(bucket.name, src.key)} to -`, {
          dryRun: true,
          op: 'download',
          source: s3Url(bucket.name, src.key),
          destination: '-',
          key: src.key,
        })
        return EXIT_OK
      }
      ctx.activity = { what: `download of ${s3Url(bucket.name, src.key)} to stdout`, done: 0, total: 1 }
      await pipeline(bucket.stream(src.key, { signal }), ctx.io.stdout, { end: false })
      return EXIT_OK
    }
  } else if (dest === '-') {
    throw new InvalidArgumentError('Cannot download a folder to stdout ("-"); give a local folder', { argument: 'destination' })
  }
  async function* plan(): AsyncGenerator<Download | Refused> {
    if (!recursive) {
      const target = await singleLocalTarget(dest, src.key)
      yield { op, source: s3Url(bucket.name, src.key), destination: target, key: src.key, target }
      return
    }
    for await (const s of listSources(bucket, src.key, { filter: flags.filter, signal })) {
      const source = s3Url(bucket.name, s.key)
      const shown = join(dest, s.relativePath.replace(/^\/+/, ''))
      let target: string
      try {
        target = localTarget(dest, s.relativePath, bucket.name)
        // `a//b`, `a/./b` and `b/../a/b` are all written at a/b: moving them would keep one and
        // delete all, so a key that is not its own file path is not moved.
        if (mode === 'mv' && !plainPath(s.relativePath)) {
          throw new InvalidArgumentError(
            `${s3Url(bucket.name, s.key)} is not moved: its key is written at ${target}, as other keys may be, so deleting it could lose data; download it with cp or get`,
            { argument: 'source', bucket: bucket.name, key: s.key },
          )
        }
      } catch (err) {
        yield { refused: true, op, source, destination: shown, error: toBucketflowError(err, { bucket: bucket.name, key: s.key }) }
        continue
      }
      yield { op, source, destination: shown, key: s.key, size: s.size, target }
    }
  }
  const execute = (items: AsyncIterable<Download>) =>
    mapResults(
      items,
      (p) => p.key,
      async (p, itemSignal) => {
        // A recursive download stays inside its folder, whatever links are in it (`root`).
        const path = await getToFile(bucket, p.key, p.target, recursive ? { signal: itemSignal, root: dest } : { signal: itemSignal })
        if (mode === 'mv') await deleteObject(bucket, p.key, { signal: itemSignal })
        return { path }
      },
      { concurrency: bucket.concurrency, signal, bucket: bucket.name },
    )
  return runItems(
    ctx,
    out,
    { verb: op, what: `${op} of ${s3Url(bucket.name, src.key)}`, cleanup: 'partial files were removed', dryRun: flags.dryRun },
    plan(),
    execute,
  )
}

interface Copy extends Planned {
  destinationKey: string
}

/** A relative path with no empty, `.` or `..` segment: the one key written at its file. */
function plainPath(relativePath: string): boolean {
  return relativePath
    .replace(/^\/+/, '')
    .split('/')
    .every((segment) => segment !== '' && segment !== '.' && segment !== '..')
}

/** `cp` / `mv` between S3 URLs (server-side). */
export async function copy(ctx: CliContext, out: Output, g: GlobalOptions, src: S3Url, dst: S3Url, flags: TransferFlags, move: boolean): Promise<number> {
  const bucket = openBucket(src.bucket, g)
  const signal = ctx.signal
  const op = move ? 'move' : 'copy'
  const options: CopyOptions = {
    ...(dst.bucket !== src.bucket ? { destinationBucket: dst.bucket } : {}),
    ...(flags.storageClass ? { storageClass: flags.storageClass } : {}),
  }
  const sameBucket = dst.bucket === src.bucket
  if (!sameBucket) openBucket(dst.bucket, g) // validates the name before any request
  let sources: AsyncIterable<S3Source>
  let destinationOf: (s: S3Source) => string
  if (!flags.recursive) {
    checkOneKey(src, op)
    const key = singleKey(dst.key, baseName(src.key))
    if (move && sameBucket && key === src.key)
      throw new InvalidArgumentError(`Cannot move s3://${src.bucket}/${src.key} onto itself`, { argument: 'destination' })
    if (!flags.filter.accepts(baseName(src.key))) return EXIT_OK
    sources = (async function* () {
      yield {
        key: src.key,
        relativePath: baseName(src.key),
        size: 0,
        entry: { kind: 'object', key: src.key, size: 0, lastModified: undefined, etag: '', storageClass: '' },
      } satisfies S3Source
    })()
    destinationOf = () => key
  } else {
    const from = folderOf(src.key)
    const to = folderOf(dst.key)
    if (move && sameBucket && from === to) throw new InvalidArgumentError(`Cannot move s3://${src.bucket}/${from} onto itself`, { argument: 'destination' })
    const listing = listSources(bucket, src.key, { filter: flags.filter, signal })
    // A destination inside the source folder would be listed again as it is written: take the
    // whole listing first.
    sources = sameBucket && to.startsWith(from) ? snapshot(listing) : listing
    destinationOf = (s) => to + s.relativePath
  }
  if (!flags.dryRun && !sameBucket) await checkBucketExists(openBucket(dst.bucket, g), signal)
  async function* plan(): AsyncGenerator<Copy> {
    for await (const s of sources) {
      const destinationKey = destinationOf(s)
      yield { op, source: s3Url(src.bucket, s.key), destination: s3Url(dst.bucket, destinationKey), key: s.key, size: s.size, destinationKey }
    }
  }
  const execute = (items: AsyncIterable<Copy>) => {
    if (!move) {
      return copyObjects(bucket, { ...options, signal })(
        (async function* () {
          for await (const p of items) yield { source: p.key, destination: p.destinationKey }
        })(),
      )
    }
    return mapResults(
      items,
      (p) => p.key,
      async (p, itemSignal) => {
        const r = await copyObject(bucket, p.key, p.destinationKey, { ...options, signal: itemSignal })
        await deleteObject(bucket, p.key, { signal: itemSignal })
        return r
      },
      { concurrency: bucket.concurrency, signal, bucket: bucket.name },
    )
  }
  return runItems(
    ctx,
    out,
    { verb: op, what: `${op} of ${s3Url(src.bucket, src.key)}`, cleanup: 'copies in flight were cancelled', dryRun: flags.dryRun },
    plan(),
    execute,
  )
}

async function* snapshot<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const all: T[] = []
  for await (const item of source) all.push(item)
  yield* all
}
