/**
 * ETL as one pipeline: list -> filter -> get -> transform -> put, with bounded concurrency.
 *
 * Raw JSON-lines click logs go in; per-file summaries come out in another bucket. Each stage
 * pulls from the one before only as fast as it can work, so memory stays at about
 * `concurrency` objects however many files there are.
 *
 *   npx tsx examples/etl.ts            # uses AWS_ENDPOINT_URL_S3 / credentials from the env
 */
import { randomBytes } from 'node:crypto'
import { pipe } from 'it-pipe'
import { Bucket, getObjects, putObjects, type PutItem, type Result } from 'bucketflow'

const raw = await Bucket.create(`etl-raw-${randomBytes(4).toString('hex')}`)
const clean = await Bucket.create(`etl-clean-${randomBytes(4).toString('hex')}`)

try {
  // Some input: 40 files of click events, plus files the pipeline must skip.
  const days = Array.from({ length: 40 }, (_, i) => `2024-03-${String((i % 28) + 1).padStart(2, '0')}-${i}`)
  const files = days.map((day) => Array.from({ length: 200 }, (_, n) => JSON.stringify({ day, user: `u${n % 17}`, ms: (n * 37) % 1000 })).join('\n'))
  await raw.put(
    files,
    days.map((d) => `clicks/${d}.jsonl`),
    { literal: true },
  )
  await raw.put(['not json', 'ignore me'], ['clicks/README.txt', 'other/x.jsonl'], { literal: true })

  const summarize = (text: string) => {
    const rows = text.split('\n').map((line) => JSON.parse(line) as { user: string; ms: number })
    const users = new Set(rows.map((r) => r.user))
    const meanMs = rows.reduce((s, r) => s + r.ms, 0) / rows.length
    return JSON.stringify({ rows: rows.length, users: users.size, meanMs: Math.round(meanMs) })
  }

  let written = 0
  let failed = 0
  await pipe(
    raw.list('clicks/'), // keys, streamed page by page
    async function* (keys) {
      for await (const key of keys) if (key.endsWith('.jsonl')) yield key
    },
    getObjects(raw, { concurrency: 8 }), // Result<Buffer>, in order
    async function* (results): AsyncGenerator<PutItem> {
      for await (const r of results as AsyncIterable<Result<Buffer>>) {
        if (!r.ok) {
          failed++
          continue
        }
        yield {
          key: r.key.replace(/^clicks\/(.*)\.jsonl$/, 'summaries/$1.json'),
          source: summarize(r.value.toString()),
          options: { literal: true, contentType: 'application/json' },
        }
      }
    },
    putObjects(clean, { concurrency: 8 }),
    async (results) => {
      for await (const r of results) {
        if (r.ok) written++
        else {
          failed++
          console.error(`failed ${r.key}: ${r.error.message}`)
        }
      }
    },
  )

  const summaries = await clean.list('summaries/')
  console.log(`read ${days.length} click files, wrote ${written} summaries, ${failed} failures`)
  console.log(`first summary: ${summaries[0]} = ${await clean.read(summaries[0]!)}`)
  if (written !== days.length || summaries.length !== days.length || failed !== 0) {
    throw new Error(`expected ${days.length} summaries, got ${summaries.length} (${failed} failures)`)
  }
} finally {
  await raw.delete({ force: true })
  await clean.delete({ force: true })
}
