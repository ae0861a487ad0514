/**
 * Listings whose pages lie: entries missing against their KeyCount, a truncated page without a
 * continuation token, a token that does not advance. The listing is whole or fails typed, never
 * silently short or endless.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bucket, S3Error, listPages } from '../../src/index.js'
import { FaultProxy, type ProxiedRequest } from '../support/proxy.js'
import { s3Options, useBucket } from '../support/s3.js'

describe('listing sanity', () => {
  const bucket = useBucket('faults-list')
  let proxy: FaultProxy
  let via: Bucket
  const keys = Array.from({ length: 23 }, (_, i) => `k/${String(i).padStart(3, '0')}`)
  const folders = ['f/a/1', 'f/a/2', 'f/b/1', 'f/c', 'f/d/1', 'f/d/2', 'f/e']
  beforeAll(async () => {
    proxy = await FaultProxy.start(s3Options().endpoint!)
    via = new Bucket(bucket().name, s3Options({ endpoint: proxy.url }))
    const put = await bucket().put(
      [...keys, ...folders].map((k) => k),
      [...keys, ...folders],
      { literal: true },
    )
    expect(put.every((r) => r.ok)).toBe(true)
  })
  afterAll(async () => {
    via.client.destroy()
    await proxy.close()
  })
  const listing = (r: ProxiedRequest) => r.op === 'ListObjects'
  const all = () => via.list('k/', { pageSize: 5 }).toArray()

  it('asks again for a page whose entries disagree with its KeyCount', async () => {
    proxy.clearRequests()
    proxy.addRule({ match: listing, fault: 'list-drop-entry', times: 2 })
    expect(await all()).toEqual(keys)
    expect(proxy.injected['list-drop-entry']).toBeGreaterThanOrEqual(2)
  })

  it('fails with InconsistentListing when every answer loses entries', async () => {
    proxy.addRule({ match: listing, fault: 'list-drop-entry' })
    const err = await all().catch((e: unknown) => e)
    proxy.clearRules()
    expect(err).toBeInstanceOf(S3Error)
    expect((err as S3Error).code).toBe('InconsistentListing')
    expect((err as S3Error).bucket).toBe(bucket().name)
  })

  it('continues after the last key when a truncated page has no continuation token', async () => {
    proxy.addRule({ match: listing, fault: 'list-no-token' })
    try {
      expect(await all()).toEqual(keys)
    } finally {
      proxy.clearRules()
    }
  })

  it('continues after the last key when the token does not advance, instead of looping', async () => {
    proxy.clearRequests()
    proxy.addRule({ match: listing, fault: 'list-stale-token' })
    try {
      expect(await all()).toEqual(keys)
      expect(proxy.count('ListObjects')).toBeLessThanOrEqual(6)
    } finally {
      proxy.clearRules()
    }
  })

  it('with a delimiter, continues past a common prefix rather than listing it again', async () => {
    proxy.addRule({ match: listing, fault: 'list-no-token' })
    try {
      const entries: string[] = []
      for await (const page of listPages(via, { prefix: 'f/', delimiter: '/', pageSize: 2 })) entries.push(...page.objects.map((o) => o.key), ...page.prefixes)
      expect(entries.sort()).toEqual(['f/a/', 'f/b/', 'f/c', 'f/d/', 'f/e'])
    } finally {
      proxy.clearRules()
    }
  })
})
