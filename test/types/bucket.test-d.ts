/**
 * The public overloads, as users write against them (imported from the package's entry): one
 * item is serial and answers its value or throws; a list is parallel and answers one Result per
 * item. Checked by the compiler in the unit run (vitest typecheck), never executed.
 */
import type { Readable, Writable } from 'node:stream'
import { describe, expectTypeOf, it } from 'vitest'
import type {
  Bucket,
  Listing,
  CopyResult,
  Failed,
  ObjectEntry,
  ObjectInfo,
  Ok,
  PrefixEntry,
  PutResult,
  Result,
  Tail,
  TailMarker,
  UploadInfo,
  WriteStreamResult,
} from 'bucketflow'

declare const bucket: Bucket
declare const sink: Writable
const keys = ['a', 'b']
async function* keyStream(): AsyncGenerator<string> {
  yield 'a'
}

describe('Bucket: one item is serial, a list is parallel', () => {
  it('get', () => {
    expectTypeOf(bucket.get('k')).toEqualTypeOf<Promise<Buffer>>()
    expectTypeOf(bucket.get('k', './file')).toEqualTypeOf<Promise<string>>()
    expectTypeOf(bucket.get('k', new URL('file:///tmp/x'))).toEqualTypeOf<Promise<string>>()
    expectTypeOf(bucket.get('k', sink)).toEqualTypeOf<Promise<void>>()
    expectTypeOf(bucket.get(keys)).toEqualTypeOf<Promise<Result<Buffer>[]>>()
    expectTypeOf(bucket.get(keyStream())).toEqualTypeOf<Promise<Result<Buffer>[]>>()
    expectTypeOf(bucket.get(keys, 'mirror/')).toEqualTypeOf<Promise<Result<string>[]>>()
    expectTypeOf(bucket.get(keys, ['a.bin', 'b.bin'])).toEqualTypeOf<Promise<Result<string>[]>>()
    // @ts-expect-error a list of keys takes no single Writable
    void bucket.get(keys, sink)
  })

  it('put', () => {
    expectTypeOf(bucket.put(Buffer.from('x'), 'k')).toEqualTypeOf<Promise<PutResult>>()
    expectTypeOf(bucket.put('./local.csv', 'k')).toEqualTypeOf<Promise<PutResult>>()
    expectTypeOf(bucket.put([Buffer.from('a'), 'b'], keys)).toEqualTypeOf<Promise<Result<PutResult>[]>>()
    expectTypeOf(bucket.put('./folder', 'prefix/')).toEqualTypeOf<Promise<Result<PutResult>[]>>()
    // @ts-expect-error a list of sources needs a list of keys
    void bucket.put([Buffer.from('a')], 42)
  })

  it('head, cp, mv, rm, freeze, restore', () => {
    expectTypeOf(bucket.head('k')).toEqualTypeOf<Promise<ObjectInfo>>()
    expectTypeOf(bucket.head(keys)).toEqualTypeOf<Promise<Result<ObjectInfo>[]>>()
    expectTypeOf(bucket.cp('a', 'b')).toEqualTypeOf<Promise<CopyResult>>()
    expectTypeOf(bucket.cp(keys, ['c', 'd'])).toEqualTypeOf<Promise<Result<CopyResult>[]>>()
    expectTypeOf(bucket.mv('a', 'b')).toEqualTypeOf<Promise<CopyResult>>()
    expectTypeOf(bucket.mv(keys, ['c', 'd'])).toEqualTypeOf<Promise<Result<CopyResult>[]>>()
    expectTypeOf(bucket.rm('k')).toEqualTypeOf<Promise<void>>()
    expectTypeOf(bucket.rm(keys)).toEqualTypeOf<Promise<Result<void>[]>>()
    expectTypeOf(bucket.freeze('k')).toEqualTypeOf<Promise<CopyResult>>()
    expectTypeOf(bucket.freeze(keys, 'GLACIER')).toEqualTypeOf<Promise<Result<CopyResult>[]>>()
    expectTypeOf(bucket.restore('k', { days: 2 })).toEqualTypeOf<Promise<void>>()
    expectTypeOf(bucket.restore(keys)).toEqualTypeOf<Promise<Result<void>[]>>()
    // @ts-expect-error mv of one key needs its destination
    void bucket.mv('a')
  })

  it('read decodes text unless asked for bytes', () => {
    expectTypeOf(bucket.read('k')).toEqualTypeOf<Promise<string>>()
    expectTypeOf(bucket.read('k', { encoding: 'latin1' })).toEqualTypeOf<Promise<string>>()
    expectTypeOf(bucket.read('k', { encoding: null })).toEqualTypeOf<Promise<Buffer>>()
    expectTypeOf(bucket.stream('k')).toEqualTypeOf<Readable>()
    expectTypeOf(bucket.exists('k')).toEqualTypeOf<Promise<boolean>>()
  })

  it('listings are async iterables that can be awaited as arrays', () => {
    expectTypeOf(bucket.list('p/')).toEqualTypeOf<Listing<string>>()
    expectTypeOf(bucket.ls('p/')).toEqualTypeOf<Listing<ObjectEntry | PrefixEntry>>()
    expectTypeOf(bucket.listUploads()).toEqualTypeOf<Listing<UploadInfo>>()
    expectTypeOf(bucket.list()).toMatchTypeOf<AsyncIterable<string>>()
    expectTypeOf<Awaited<Listing<string>>>().toEqualTypeOf<string[]>()
    expectTypeOf(bucket.list().toArray()).toEqualTypeOf<Promise<string[]>>()
  })

  it('tail yields markers only when asked', () => {
    expectTypeOf(bucket.tail('logs/')).toEqualTypeOf<Tail<Buffer>>()
    expectTypeOf(bucket.tail('logs/', { markers: false })).toEqualTypeOf<Tail<Buffer>>()
    expectTypeOf(bucket.tail('logs/', { markers: true })).toEqualTypeOf<Tail<Buffer | TailMarker>>()
  })

  it('putStream answers the upload', () => {
    expectTypeOf(bucket.putStream(keyStream() as unknown as AsyncIterable<Uint8Array>, 'k')).toEqualTypeOf<Promise<WriteStreamResult>>()
  })
})

describe('Result narrows on ok', () => {
  it('Ok carries the value, Failed the typed error', () => {
    const r = {} as Result<Buffer>
    if (r.ok) {
      expectTypeOf(r).toEqualTypeOf<Ok<Buffer>>()
      expectTypeOf(r.value).toEqualTypeOf<Buffer>()
    } else {
      expectTypeOf(r).toEqualTypeOf<Failed>()
      expectTypeOf(r.error.code).toEqualTypeOf<string>()
    }
  })
})
