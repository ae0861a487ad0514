/** `bucketflow bench`: throughput benchmarks against peers on a local S3 server (src/benchmark). */
import { Command, InvalidArgumentError as OptionValueError } from 'commander'
import { runBenchmark } from '../benchmark/engine.js'
import { DEFAULT_PEERS, PEERS } from '../benchmark/peers/index.js'
import { formatTable, writeReport } from '../benchmark/report.js'
import { parseWorkloadList, type WorkloadId } from '../benchmark/workloads.js'
import { act, EXIT_FAILED, EXIT_OK, globals, Output, positiveInt } from './common.js'

interface BenchFlags {
  runs: number
  only?: WorkloadId[]
  scale: number
  tools?: string[]
  out: string
  external: boolean
  install: boolean
}

function parseScale(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || n > 4) throw new OptionValueError(`Expected scale to be a number > 0 and <= 4, got ${JSON.stringify(value)}`)
  return n
}

function parseOnly(value: string): WorkloadId[] {
  try {
    return parseWorkloadList(value)
  } catch (err) {
    throw new OptionValueError((err as Error).message)
  }
}

function parseTools(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean)
  // Hidden peers (the corrupting control, bucketflow-noverify) run when named.
  const known = PEERS.map((p) => p.name)
  const bad = names.find((n) => !known.includes(n))
  if (bad !== undefined || names.length === 0) throw new OptionValueError(`Expected tools from ${known.join(', ')}, got ${JSON.stringify(value)}`)
  return names
}

const HELP = `
Workloads (each verified byte-exact before its timing counts; --scale multiplies the counts and W3's size):
  W1  2000 x 4 KiB objects, put then get        W4  list 20000 keys
  W2  64 x 4 MiB objects, put then get          W5  200 storage-class changes (copy in place)
  W3  one 512 MiB stream of unknown length, upload then download
Tools: ${DEFAULT_PEERS.join(', ')}.
  rclone and aws-cli are the Debian packages; when missing they are installed with apt-get if
  running as root on Debian, else skipped with a note. Each tool runs in its own process.
Concurrency: the global -c (default 16 here) for every tool with a knob; part size 8 MiB.
Server: S3_ENDPOINT (with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or --endpoint, else a radosgw
  started for the run (scripts/local-s3.sh) and stopped at the end. AWS itself is refused. For a
  radosgw of scripts/local-s3.sh, BUCKETFLOW_S3_DIR=<its folder> lets the run free deleted objects
  at once (memstore keeps every byte in RAM).
Writes <out>/<timestamp>.json, latest.json, latest.md, throughput.svg (and .png with rsvg-convert).

Examples:
  bucketflow bench
  bucketflow bench --runs 1 --scale 0.25 --only W1,W3
  S3_ENDPOINT=http://127.0.0.1:7480 bucketflow bench --no-external`

export function register(program: Command): void {
  program
    .command('bench')
    .description('throughput benchmarks against peers (AWS SDK, lib-storage, rclone, aws-cli) on a local S3 server')
    .option('--runs <n>', 'runs; the table shows medians', positiveInt('runs'), 3)
    .option('--only <workloads>', 'comma-separated workloads to run, e.g. W1,W3 (default all)', parseOnly)
    .option('--scale <x>', 'multiply counts and sizes by x, e.g. 0.25 for a quick run', parseScale, 1)
    .option('--tools <names>', `comma-separated tools (default ${DEFAULT_PEERS.join(',')})`, parseTools)
    .option('--out <dir>', 'folder for the results files', 'bench/results')
    .option('--no-external', 'skip the external tools (rclone, aws-cli)')
    .option('--no-install', 'never install missing tools with apt-get')
    .addHelpText('after', HELP)
    .action(
      act(async (flags: BenchFlags, cmd: Command) => {
        const g = globals(cmd)
        const out = new Output(g)
        const controller = new AbortController()
        const onSignal = () => controller.abort(new Error('interrupted'))
        process.once('SIGINT', onSignal)
        try {
          const report = await runBenchmark({
            runs: flags.runs,
            scale: flags.scale,
            concurrency: g.concurrency ?? 16,
            external: flags.external,
            install: flags.install,
            signal: controller.signal,
            ...(flags.only ? { only: flags.only } : {}),
            ...(flags.tools ? { tools: flags.tools } : {}),
            ...(g.endpoint
              ? {
                  s3: {
                    endpoint: g.endpoint,
                    region: g.region ?? process.env.AWS_REGION ?? 'us-east-1',
                    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
                    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
                  },
                }
              : {}),
            ...(g.quiet ? {} : { log: (line: string) => process.stderr.write(`${line}\n`) }),
          })
          const written = await writeReport(report, flags.out)
          if (g.json) out.data('', report)
          else process.stdout.write(`${formatTable(report)}\n`)
          out.summary(`wrote ${[written.json, written.latest, written.markdown, written.svg, written.png].filter(Boolean).join(', ')}`)
          const ours = report.samples.filter((s) => s.tool === 'bucketflow')
          return ours.some((s) => !s.ok) ? EXIT_FAILED : EXIT_OK
        } finally {
          process.removeListener('SIGINT', onSignal)
        }
      }),
    )
}
