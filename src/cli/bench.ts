/**
 * `bucketflow bench`: a load generator for any S3 endpoint (`bench put|get|mixed|list|stat|delete|
 * multipart|copy`), its results (`bench report`, `bench compare`), and the comparison with peer
 * tools on a local server (`bench peers`). The engines (src/benchmark) load only when one of
 * these runs.
 */
import { type Command, InvalidArgumentError as OptionValueError, type Option } from 'commander'
// The benchmark's command runner and peer comparison (src/benchmark/command.ts, peers/) are the
// bench app's own modules, deliberately internal: not part of `bucketflow/bench`, used only here
// and loaded only when a bench command runs.
import type { BenchGlobals } from '../benchmark/command.js'
import { act, EXIT_FAILED, EXIT_OK, globals, Output, positiveInt, type GlobalOptions } from './common.js'

const WORKLOADS = {
  put: 'upload new objects (PutObject)',
  get: 'download objects uploaded first (GetObject, with time to first byte)',
  mixed: 'get, stat, put and delete by weight (default 45/30/15/10, like warp)',
  list: 'list objects uploaded first, one ListObjectsV2 page per request',
  stat: 'HEAD objects uploaded first',
  delete: 'delete objects uploaded first (DeleteObject, or DeleteObjects of N keys with --batch N)',
  multipart: 'upload large streams through the multipart sink (putStream)',
  copy: 'server-side copies of objects uploaded first (CopyObject)',
} as const

type WorkloadFlagsOf = import('../benchmark/command.js').WorkloadFlags

const WORKLOAD_HELP = `
The run: it refuses a prefix that already holds other objects (unless --reuse), uploads the
objects the workload reads, then runs -c requests at a time for --duration (or until throughput is
stable with --autoterm), and deletes every object it wrote (also after Ctrl-C; a second Ctrl-C
exits at once). Keys: <prefix><run-id>/<client-id>/<n>. Against an AWS endpoint it prints the
expected request count and cost, and runs only with --yes.

Results: every request is a row of a Parquet file (--results; default
./bench-results/<run-id>-<workload>.parquet) with a JSON summary beside it; query the samples with
DuckDB, or run \`bucketflow bench report\`. Live progress on stderr when it is a terminal. The
summary reports ops/s, MiB/s, latency p50/p90/p99/p99.9 (DuckDB quantile_cont over successful
requests), TTFB, errors by code, and the client's own CPU per operation.

Several machines: give every client the same --results s3://bucket/results/<run-id>/ (the run id
is that folder's name) and the same --start-at; then \`bucketflow bench report
s3://bucket/results/<run-id>/\` merges them.

Exit codes: 0 ok, 1 some requests failed, 2 usage error (or a refused prefix), 130 interrupted.

Examples:
  bucketflow bench put s3://my-bucket/bench/ --duration 30s -c 32 --size 64KiB
  bucketflow bench get s3://my-bucket/bench/ -c 8,16,32,64 --size 4KiB,1MiB --autoterm
  bucketflow bench mixed s3://my-bucket/bench/ --size 1KiB-10MiB --weights get=60,put=40
  bucketflow bench get s3://my-bucket/bench/ --results s3://my-bucket/results/run-42/ \\
    --start-at 2026-12-01T15:30:00Z`

/** Let the global -c take a list (`8,16,32,64`) for the bench commands' sweeps. */
function allowConcurrencyLists(program: Command): void {
  const option = program.options.find((o: Option) => o.long === '--concurrency')
  const strict = option?.parseArg
  if (!option || !strict) return
  option.argParser((value: string, previous: unknown) => {
    if (!value.includes(',')) return strict(value, previous)
    if (!value.split(',').every((p) => /^\s*[1-9]\d*\s*$/.test(p)))
      throw new OptionValueError(`Expected concurrency to be an integer >= 1 or a list such as 8,16,32,64, got ${JSON.stringify(value)}`)
    // A list stays a string: bench parses it; other commands reject it as not an integer.
    return value
  })
}

function addWorkload(bench: Command, name: keyof typeof WORKLOADS): void {
  const cmd = bench
    .command(`${name} <url>`)
    .description(`${WORKLOADS[name]}; url is s3://bucket/prefix/ (the prefix is a folder: a final '/' is implied)`)
    .configureHelp({ showGlobalOptions: true })
    .option('-d, --duration <time>', 'longest measured time, e.g. 30s, 5m, 1h', '30s')
    .option(
      '-s, --size <sizes>',
      'object size: 4KiB; a list 4KiB,1MiB; or random between bounds 1KiB-10MiB (default 1MiB; stat/list/delete 1KiB; multipart 64MiB)',
    )
    .option('--objects <n>', 'objects uploaded first (default 1000; delete 10000)')
    .option('--autoterm', 'stop once throughput is stable (the last 7 of 25 blocks within 7.5%, for 10 s)')
    .option('--autoterm-tolerance <percent>', 'autoterm tolerance in percent (default 7.5)')
    .option('--autoterm-stable <time>', 'time the throughput must have been stable (default 10s)')
    .option('--results <path>', 'where the samples go: a .parquet file, a folder, or s3://bucket/results/run-id/')
    .option('--run-id <id>', 'run id (default: the s3:// results folder name, else a new one)')
    .option('--client-id <id>', 'this client in samples and keys (default <hostname>-<pid>)')
    .option('--start-at <time>', 'start measuring at this ISO time (after preparing), to align clients')
    .option('--seed <n>', 'seed of sizes, choices and payload (default random)')
    .option('--max-ops <n>', 'stop after this many requests')
    .option('--reuse', 'run although the prefix holds other objects (they are never touched)')
    .option('--yes', 'run against an AWS endpoint (requests cost money)')
    .option('--no-cleanup', 'leave the objects the run wrote')
  if (name === 'mixed') cmd.option('--weights <list>', 'operation weights, e.g. get=45,stat=30,put=15,delete=10')
  if (name === 'multipart') cmd.option('--part-size <size>', 'part size (default 8MiB)').option('--queue-size <n>', 'parts in flight per upload (default 4)')
  if (name === 'list') cmd.option('--page-size <n>', 'keys per ListObjectsV2 page (default 1000)')
  if (name === 'delete' || name === 'mixed') cmd.option('--batch <n>', 'keys per delete request: 1 DeleteObject, more DeleteObjects (default 1)')
  cmd.addHelpText('after', `\nConcurrency: the global -c, one level (default 16) or a list for a sweep that reports the knee.\n${WORKLOAD_HELP}`)
  cmd.action(
    act(async (url: string, flags: WorkloadFlagsOf, c: Command) => {
      const { runWorkload } = await import('../benchmark/command.js')
      const g = globals(c) as BenchGlobals
      return runWorkload(name, url, flags, g, new Output(g as GlobalOptions))
    }),
  )
}

interface PeerFlags {
  runs: number
  only?: string[]
  scale: number
  tools?: string[]
  out: string
  readme?: string
  external: boolean
  install: boolean
}

function parseScale(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || n > 4) throw new OptionValueError(`Expected scale to be a number > 0 and <= 4, got ${JSON.stringify(value)}`)
  return n
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

const PEERS_HELP = `
Workloads (each verified byte-exact before its timing counts; --scale multiplies the counts and W3's size):
  W1  2000 x 4 KiB objects, put then get        W4  list 20000 keys
  W2  64 x 4 MiB objects, put then get          W5  200 storage-class changes (copy in place)
  W3  one 512 MiB stream of unknown length, upload then download
Tools: bucketflow, sdk-naive, sdk-batch, lib-storage, minio-js, rclone, aws-cli.
  lib-storage and minio-js (npm minio) are development dependencies: they run from a checkout
  (npm run bench), else they are skipped with a note. rclone and aws-cli are the Debian packages; when missing they are
  installed with apt-get if running as root on Debian, else skipped with a note. Each tool runs
  in its own process.
Concurrency: the global -c (default 16 here) for every tool with a knob; part size 8 MiB.
Server: S3_ENDPOINT (with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or --endpoint, else a radosgw
  started for the run (scripts/local-s3.sh) and stopped at the end. AWS itself is refused. For a
  radosgw of scripts/local-s3.sh, BUCKETFLOW_S3_DIR=<its folder> lets the run free deleted objects
  at once (memstore keeps every byte in RAM).
Writes <out>/<timestamp>.json, latest.json, latest.md, throughput.svg (and .png with rsvg-convert);
  --readme README.md also rewrites the table between its bench-peers markers (checked before the run).

Examples:
  bucketflow bench peers
  bucketflow bench peers --runs 1 --scale 0.25 --only W1,W3
  npm run bench -- --readme README.md      # regenerate the README's table and chart (quiet machine)
  S3_ENDPOINT=http://127.0.0.1:7480 bucketflow bench peers --no-external`

function addPeers(bench: Command): void {
  bench
    .command('peers')
    .description('throughput against peers (AWS SDK, lib-storage, minio-js, rclone, aws-cli) on a local S3 server')
    .option('--runs <n>', 'runs; the table shows medians', positiveInt('runs'), 3)
    .option('--only <workloads>', 'comma-separated workloads to run, e.g. W1,W3 (default all)', list)
    .option('--scale <x>', 'multiply counts and sizes by x, e.g. 0.25 for a quick run', parseScale, 1)
    .option('--tools <names>', 'comma-separated tools (default all but the control peer `corrupt`, which must fail verification)', list)
    .option('--out <dir>', 'folder for the results files', 'bench/results')
    .option('--readme <file>', 'also rewrite the peer table between the bench-peers markers of this Markdown file (README.md)')
    .option('--no-external', 'skip the external tools (rclone, aws-cli)')
    .option('--no-install', 'never install missing tools with apt-get')
    .addHelpText('after', PEERS_HELP)
    .action(
      act(async (flags: PeerFlags, cmd: Command) => {
        const [{ runBenchmark }, { PEERS, findPeer }, { checkReadme, formatTable, updateReadme, writeReport }, { parseWorkloadList }] = await Promise.all([
          import('../benchmark/peers/engine.js'),
          import('../benchmark/peers/tools/index.js'),
          import('../benchmark/peers/report.js'),
          import('../benchmark/peers/workloads.js'),
        ])
        const g = globals(cmd)
        const out = new Output(g)
        const concurrency = g.concurrency ?? 16
        if (typeof concurrency !== 'number') throw new OptionValueError(`bench peers takes one concurrency, got ${JSON.stringify(concurrency)}`)
        const bad = flags.tools?.find((n) => !findPeer(n))
        if (bad !== undefined || flags.tools?.length === 0) {
          const { InvalidArgumentError } = await import('../index.js')
          throw new InvalidArgumentError(`Expected tools from ${PEERS.map((p) => p.name).join(', ')}, got ${JSON.stringify(flags.tools?.join(','))}`, {
            argument: 'tools',
          })
        }
        // A README without the markers is found now, not after an hour of runs.
        if (flags.readme !== undefined) await checkReadme(flags.readme)
        const controller = new AbortController()
        const onSignal = () => controller.abort(new Error('interrupted'))
        process.once('SIGINT', onSignal)
        try {
          const report = await runBenchmark({
            runs: flags.runs,
            scale: flags.scale,
            concurrency,
            external: flags.external,
            install: flags.install,
            signal: controller.signal,
            ...(flags.only ? { only: parseWorkloadList(flags.only.join(',')) } : {}),
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
          if (flags.readme !== undefined) await updateReadme(report, flags.readme)
          if (g.json) out.data('', report)
          else process.stdout.write(`${formatTable(report)}\n`)
          out.summary(`wrote ${[written.json, written.latest, written.markdown, written.svg, written.png, flags.readme].filter(Boolean).join(', ')}`)
          const ours = report.samples.filter((s) => s.tool === 'bucketflow')
          return ours.some((s) => !s.ok) ? EXIT_FAILED : EXIT_OK
        } finally {
          process.removeListener('SIGINT', onSignal)
        }
      }),
    )
}

export function register(program: Command): void {
  allowConcurrencyLists(program)
  const bench = program
    .command('bench')
    .description('benchmark an S3 endpoint (put, get, mixed, list, stat, delete, multipart, copy), report and compare results, or compare with peer tools')
    .addHelpText(
      'after',
      `
Examples:
  bucketflow bench put s3://my-bucket/bench/ --duration 30s -c 32
  bucketflow bench get s3://my-bucket/bench/ -c 8,16,32,64 --autoterm
  bucketflow bench report bench-results/20261201-153000-a1b2-get.parquet
  bucketflow bench compare before.parquet after.parquet
  bucketflow bench peers --runs 1 --scale 0.25`,
    )
  for (const name of Object.keys(WORKLOADS) as (keyof typeof WORKLOADS)[]) addWorkload(bench, name)
  bench
    .command('report <results...>')
    .description(
      'summary table and SVG charts (throughput over time, latency CDF and histogram) of results: .parquet files, folders, or s3://bucket/results/run-id/ (clients merged)',
    )
    .option('--out <dir>', 'folder for the SVG charts (default: beside the file, or ./bench-results)')
    .option('--no-charts', 'print the summary only')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow bench report bench-results/run.parquet\n  bucketflow bench report s3://my-bucket/results/run-42/ --out charts/',
    )
    .action(
      act(async (sources: string[], flags: { out?: string; charts: boolean }, c: Command) => {
        const { report } = await import('../benchmark/command.js')
        const g = globals(c) as BenchGlobals
        return report(sources, flags, g, new Output(g as GlobalOptions))
      }),
    )
  bench
    .command('compare <a> <b>')
    .description('compare two results (files, folders or s3:// run folders): throughput and latency with their spread')
    .addHelpText(
      'after',
      '\nExamples:\n  bucketflow bench compare before.parquet after.parquet\n  bucketflow --json bench compare s3://b/results/run-1/ s3://b/results/run-2/',
    )
    .action(
      act(async (a: string, b: string, _flags: unknown, c: Command) => {
        const { compare } = await import('../benchmark/command.js')
        return compare(a, b, globals(c) as BenchGlobals)
      }),
    )
  addPeers(bench)
  // Usage errors of these nested commands reach the program's handler (exit code 2), as the
  // top-level commands' do.
  for (const cmd of bench.commands) cmd.exitOverride()
}
