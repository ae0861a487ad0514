/**
 * Storage classes: freeze objects into archival classes, see the change in head and ls, bring
 * one back to STANDARD, and ask for a restore (servers without RestoreObject answer with a typed
 * NotImplementedError per item).
 *
 *   npx tsx examples/storage-classes.ts
 */
import { randomBytes } from 'node:crypto'
import { Bucket, NotImplementedError, type ObjectEntry } from 'bucketflow'

const bucket = await Bucket.create(`classes-${randomBytes(4).toString('hex')}`)
try {
  const keys = ['raw/2019.csv', 'raw/2020.csv', 'raw/2021.csv', 'raw/2022.csv']
  await bucket.put(
    keys.map((k) => `year,value\n${k.slice(4, 8)},42\n`),
    keys,
    { literal: true },
  )

  await bucket.freeze('raw/2019.csv') // DEEP_ARCHIVE by default
  const results = await bucket.freeze(['raw/2020.csv', 'raw/2021.csv'], 'GLACIER') // parallel, one result each
  console.log('freeze results:', results.map((r) => `${r.key}:${r.ok ? 'ok' : r.error.code}`).join(' '))
  await bucket.cp('raw/2022.csv', undefined, { storageClass: 'STANDARD_IA' }) // same key, new class

  console.log('head raw/2019.csv ->', (await bucket.head('raw/2019.csv')).storageClass)
  for (const entry of (await bucket.ls('raw/')) as ObjectEntry[]) console.log(`  ${entry.storageClass.padEnd(13)} ${entry.key}`)

  await bucket.cp('raw/2021.csv', undefined, { storageClass: 'STANDARD' })
  console.log('after thawing raw/2021.csv ->', (await bucket.head('raw/2021.csv')).storageClass)

  const restored = await bucket.restore(['raw/2019.csv', 'raw/2020.csv'], { tier: 'Bulk', days: 1 })
  for (const r of restored) {
    if (r.ok) console.log(`restore requested: ${r.key}`)
    else if (r.error instanceof NotImplementedError) console.log(`restore not offered by this server: ${r.key} (${r.error.code})`)
    else throw r.error
  }
  const classes = ((await bucket.ls('raw/')) as ObjectEntry[]).map((e) => e.storageClass)
  if (classes.join() !== 'DEEP_ARCHIVE,GLACIER,STANDARD,STANDARD_IA') throw new Error(`unexpected classes ${classes.join()}`)
} finally {
  await bucket.delete({ force: true })
}
