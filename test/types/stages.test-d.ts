/**
 * Stages are functions of their options that return `(source) => AsyncGenerator<Result<T>>`,
 * so they compose with `for await` and it-pipe; each yields the result type of its verb.
 */
import { describe, expectTypeOf, it } from 'vitest'
import {
  copyObjects,
  deleteObjects,
  getObjects,
  headObjects,
  listObjects,
  listPartitioned,
  putObjects,
  type Bucket,
  type CopyResult,
  type ListCheckpoint,
  type ListPage,
  type ObjectEntry,
  type ObjectInfo,
  type PrefixEntry,
  type PutResult,
  type Result,
} from 'bucketflow'

declare const bucket: Bucket
type StageOf<T> = (source: never) => AsyncGenerator<Result<T>>

describe('stage result types', () => {
  it('getObjects yields Buffers (or file paths with a destination)', () => {
    const stage = getObjects(bucket)
    expectTypeOf(stage).toMatchTypeOf<StageOf<Buffer | string>>()
    expectTypeOf(stage(['a', { key: 'b', destination: 'b.bin' }])).toEqualTypeOf<AsyncGenerator<Result<Buffer | string>>>()
    // @ts-expect-error items are keys or { key }
    void stage([42])
  })

  it('putObjects, copyObjects, headObjects, deleteObjects', () => {
    expectTypeOf(putObjects(bucket)([{ source: Buffer.from('a'), key: 'a' }])).toEqualTypeOf<AsyncGenerator<Result<PutResult>>>()
    expectTypeOf(copyObjects(bucket)).returns.toMatchTypeOf<AsyncGenerator<Result<CopyResult>>>()
    expectTypeOf(headObjects(bucket)).returns.toMatchTypeOf<AsyncGenerator<Result<ObjectInfo>>>()
    expectTypeOf(deleteObjects(bucket)).returns.toMatchTypeOf<AsyncGenerator<Result<void>>>()
    // @ts-expect-error a put item needs its key
    void putObjects(bucket)([{ source: Buffer.from('a') }])
  })

  it('listings', () => {
    expectTypeOf(listObjects(bucket)).toEqualTypeOf<AsyncGenerator<ObjectEntry | PrefixEntry>>()
    const listing = listPartitioned(bucket, { concurrency: 4 })
    expectTypeOf(listing).toMatchTypeOf<AsyncGenerator<ListPage, void, undefined>>()
    expectTypeOf(listing.checkpoint()).toEqualTypeOf<ListCheckpoint>()
  })
})
