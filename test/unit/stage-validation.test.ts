/**
 * Stages validate their options at the call: bad options throw InvalidArgumentError before the
 * caller iterates, and before any request (the bucket below points at a closed port).
 */
import { describe, expect, it } from 'vitest'
import {
  Bucket,
  collect,
  copyObjects,
  deleteObjects,
  freezeObjects,
  getObjects,
  headObjects,
  InvalidArgumentError,
  putObjects,
  restoreObjects,
  type StageOptions,
} from '../../src/index.js'

const bucket = new Bucket('unit-bucket', {
  endpoint: 'http://127.0.0.1:9',
  region: 'us-east-1',
  credentials: { accessKeyId: 'k', secretAccessKey: 's' },
  maxAttempts: 1,
})

function thrownAtCall(call: () => unknown): InvalidArgumentError {
  try {
    call()
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError)
    return err as InvalidArgumentError
  }
  throw new Error('expected the call itself to throw')
}

const stages: [string, (options: StageOptions & Record<string, unknown>) => unknown][] = [
  ['headObjects', (o) => headObjects(bucket, o)],
  ['putObjects', (o) => putObjects(bucket, o)],
  ['copyObjects', (o) => copyObjects(bucket, o)],
  ['deleteObjects', (o) => deleteObjects(bucket, o)],
  ['getObjects', (o) => getObjects(bucket, o)],
  ['freezeObjects', (o) => freezeObjects(bucket, o)],
  ['restoreObjects', (o) => restoreObjects(bucket, o)],
]

describe('stage options are checked at the call', () => {
  for (const [name, make] of stages) {
    it(`${name} throws on a bad concurrency, signal, stopOnError or ordered`, () => {
      expect(thrownAtCall(() => make({ concurrency: 0 })).message).toBe('Expected concurrency to be an integer >= 1, got 0')
      expect(thrownAtCall(() => make({ concurrency: 1.5 })).argument).toBe('concurrency')
      expect(thrownAtCall(() => make({ signal: 'stop' as unknown as AbortSignal })).argument).toBe('signal')
      expect(thrownAtCall(() => make({ stopOnError: 'yes' as unknown as boolean })).argument).toBe('stopOnError')
      expect(thrownAtCall(() => make({ ordered: 1 as unknown as boolean })).argument).toBe('ordered')
    })
  }

  it.each<[string, () => unknown, string]>([
    ['putObjects partSize', () => putObjects(bucket, { partSize: 1024 }), 'partSize'],
    ['putObjects queueSize', () => putObjects(bucket, { queueSize: 0 }), 'queueSize'],
    ['copyObjects partSize', () => copyObjects(bucket, { partSize: 1 }), 'partSize'],
    ['copyObjects multipartThreshold', () => copyObjects(bucket, { multipartThreshold: -1 }), 'multipartThreshold'],
    ['copyObjects destinationBucket', () => copyObjects(bucket, { destinationBucket: 'No_Such' }), 'bucket'],
    ['deleteObjects batchSize', () => deleteObjects(bucket, { batchSize: 1001 }), 'batchSize'],
    ['restoreObjects days', () => restoreObjects(bucket, { days: 0 }), 'days'],
    ['getObjects range', () => getObjects(bucket, { start: 'x' as unknown as number }), 'start'],
    ['getObjects destination', () => getObjects(bucket, { destination: 5 as unknown as string }), 'destination'],
    ['getObjects partSize', () => getObjects(bucket, { partSize: 0 }), 'partSize'],
  ])('%s', (_, call, argument) => {
    const err = thrownAtCall(call)
    expect(err.message).toContain(argument === 'bucket' ? 'No_Such' : argument)
  })

  it('a stage with good options starts nothing until iterated, and yields one result per item', async () => {
    const stage = headObjects(bucket, { concurrency: 2 })
    const results = await collect(stage([null as unknown as string]))
    expect(results).toHaveLength(1)
    expect(results[0]!.ok).toBe(false)
  })
})
