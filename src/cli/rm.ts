/** `bucketflow rm`, `freeze`, `restore`: per-key operations over URLs or whole prefixes. */
import type { Command } from 'commander'
import type { StorageClass } from '../bucket-ref.js'
import { act, globals, Output, positiveInt, reportResults } from './common.js'
import { resolveTargets } from './targets.js'

export function register(program: Command): void {
  program
    .command('rm')
    .description('delete objects (DeleteObjects batches of 1000)')
    .argument('<urls...>', 's3://bucket/key ... or, with --recursive, s3://bucket/prefix/')
    .option('-r, --recursive', 'every key under each prefix')
    .addHelpText('after', '\nExamples:\n  bucketflow rm s3://cats/tmp.txt\n  bucketflow rm -r s3://cats/tmp/')
    .action(act(async (urls: string[], opts: { recursive?: boolean }, cmd: Command) => {
      const g = globals(cmd)
      const { bucket, keys } = await resolveTargets(urls, opts.recursive ?? false, g)
      return reportResults(new Output(g), await bucket.rm(keys), 'rm')
    }))

  program
    .command('freeze')
    .description('move objects to an archival storage class (default DEEP_ARCHIVE)')
    .argument('<urls...>', 's3://bucket/key ... or, with --recursive, s3://bucket/prefix/')
    .option('-r, --recursive', 'every key under each prefix')
    .option('--storage-class <class>', 'target storage class', 'DEEP_ARCHIVE')
    .addHelpText('after', '\nExamples:\n  bucketflow freeze s3://cats/old.tar\n  bucketflow freeze -r --storage-class GLACIER s3://cats/2019/')
    .action(act(async (urls: string[], opts: { recursive?: boolean; storageClass: StorageClass }, cmd: Command) => {
      const g = globals(cmd)
      const { bucket, keys } = await resolveTargets(urls, opts.recursive ?? false, g)
      return reportResults(new Output(g), await bucket.freeze(keys, opts.storageClass), 'freeze', () => `-> ${opts.storageClass}`)
    }))

  program
    .command('restore')
    .description('request temporary readable copies of archived objects')
    .argument('<urls...>', 's3://bucket/key ... or, with --recursive, s3://bucket/prefix/')
    .option('-r, --recursive', 'every key under each prefix')
    .option('--tier <tier>', 'Bulk, Standard or Expedited', 'Bulk')
    .option('--days <n>', 'days the copy stays readable', positiveInt('days'), 5)
    .addHelpText('after', '\nExample:\n  bucketflow restore --tier Standard --days 2 s3://cats/old.tar')
    .action(act(async (urls: string[], opts: { recursive?: boolean; tier: 'Bulk' | 'Standard' | 'Expedited'; days: number }, cmd: Command) => {
      const g = globals(cmd)
      const { bucket, keys } = await resolveTargets(urls, opts.recursive ?? false, g)
      return reportResults(new Output(g), await bucket.restore(keys, { tier: opts.tier, days: opts.days }), 'restore')
    }))
}
