/**
 * Bench helper: a deterministic, realistic key set and an idempotent seeder for the listing
 * benchmark (bench/list.ts). Seeding puts only the keys that are missing, so a bucket seeded
 * once is reused by later runs.
 *
 * Run alone: `npx tsx bench/list-seed.ts [--keys 100000]`.
 */
import { Bucket, type BucketOptions } from '../src/index.js'

/** The bench bucket's name for `count` keys. */
export function benchBucketName(count: number): string {
  return `bench-list-${count}`
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0')
}

// A small fast integer hash, so the key set is the same on every run.
function mix(n: number): number {
  let x = (n ^ 0x9e3779b9) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0
  return (x ^ (x >>> 16)) >>> 0
}

const NAMES = ['ana', 'bjørn', 'chloé', 'dmitrí', 'émile', 'françois', 'günther', 'håkon', 'jürgen', 'łukasz', 'müller', 'søren', '李', '山田', 'анна', 'zoë']

/**
 * Key `i` of a realistic bucket: 70% dated log partitions (one hot prefix), 20% content-addressed
 * images (uniform hex), 10% per-user documents with unicode names.
 */
export function benchKey(i: number): string {
  const h = mix(i)
  const kind = i % 10
  if (kind < 7) {
    const day = Math.floor(i / 1000) % 120
    const month = String(1 + Math.floor(day / 30)).padStart(2, '0')
    const dom = String(1 + (day % 30)).padStart(2, '0')
    return `logs/2024-${month}-${dom}/host-${String(h % 16).padStart(2, '0')}/${String(i).padStart(8, '0')}.json.gz`
  }
  if (kind < 9) return `images/${hex(h >>> 24, 2)}/${hex(h, 8)}${hex(i, 6)}.jpg`
  return `users/${NAMES[h % NAMES.length]}/documents/${hex(h, 8)}-${i}.pdf`
}

/**
 * Make sure the bench bucket holds exactly the keys `benchKey(0..count-1)`: create it if needed,
 * list what is there, and put (0-byte objects, concurrency 32) whatever is missing.
 */
export async function seedBenchBucket(count: number, options: BucketOptions = {}, log = console.log): Promise<Bucket> {
  const bucket = await Bucket.create(benchBucketName(count), { concurrency: 32, ...options })
  const present = new Set<string>()
  for await (const key of bucket.list()) present.add(key)
  const missing: string[] = []
  for (let i = 0; i < count; i++) {
    const key = benchKey(i)
    if (!present.has(key)) missing.push(key)
  }
  if (missing.length === 0) return bucket
  log(`seeding ${missing.length} of ${count} keys into ${bucket.name} (0-byte objects, concurrency 32)`)
  const started = Date.now()
  for (let at = 0; at < missing.length; at += 5000) {
    const keys = missing.slice(at, at + 5000)
    const results = await bucket.put(
      keys.map(() => null),
      keys,
      { concurrency: 32 },
    )
    const failed = results.filter((r) => !r.ok)
    if (failed.length > 0) throw new Error(`seeding failed for ${failed.length} keys, first: ${failed[0]!.ok ? '' : failed[0]!.error.message}`)
    log(`  ${at + keys.length}/${missing.length} in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  }
  return bucket
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(arg('keys', '100000'))
  await seedBenchBucket(count)
  console.log('seeded')
}
