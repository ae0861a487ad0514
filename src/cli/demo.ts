/** `bucketflow demo`: the seed notebook's story on an embedded S3 (or any S3 with --endpoint). */
import type { Command } from 'commander'
import type { BucketOptions } from '../index.js'
import { runDemo } from '../demo/story.js'
import { act, EXIT_OK, globals } from './common.js'

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run the tour: make a bucket, write and read a README, upload 15 cat pictures serially and in parallel, index the bucket, download them, ship a rotating log while tailing it, freeze some, clean up',
    )
    .addHelpText(
      'after',
      '\nBy default it starts an embedded in-memory S3 server for the run. With --endpoint (or AWS_ENDPOINT_URL_S3) it runs against that server with the usual AWS credentials.\n\nExamples:\n  bucketflow demo\n  bucketflow demo --endpoint http://127.0.0.1:7480',
    )
    .action(
      act(async (_opts: unknown, cmd: Command) => {
        const g = globals(cmd)
        const endpoint = g.endpoint ?? process.env.AWS_ENDPOINT_URL_S3
        if (endpoint) {
          process.stdout.write(`bucketflow demo against ${endpoint}\n`)
          await runDemo({ endpoint, ...(g.region ? { region: g.region } : {}), ...(g.concurrency ? { concurrency: g.concurrency } : {}) })
          return EXIT_OK
        }
        const { startLocalS3 } = await import('../server/index.js')
        const server = await startLocalS3()
        process.stdout.write(`bucketflow demo on an embedded S3 at ${server.endpoint} (in memory; --endpoint URL to use another)\n`)
        const options: BucketOptions = { endpoint: server.endpoint, region: server.region, credentials: server.credentials }
        if (g.concurrency) options.concurrency = g.concurrency
        try {
          await runDemo(options)
        } finally {
          await server.close()
        }
        return EXIT_OK
      }),
    )
}
