/**
 * Where the load generator's CPU goes: reads a V8 CPU profile of `bench/load.ts null` and prints,
 * for the last measured run only (the last `--seconds` of samples that ran a benchmark worker,
 * less 0.3 s at each end), the share of busy CPU per area, the top functions by self time and
 * the top functions by inclusive time.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/load-prof --import tsx bench/load.ts null --ops get --runs 1 --seconds 10
 *   npx tsx bench/cpu-profile.ts /tmp/load-prof/CPU.*.0.001.cpuprofile --seconds 10
 *
 * (tsx also profiles its loader thread, `*.1.*.cpuprofile`: take the main thread's, `.0.`.)
 * Areas, by the innermost frame of each sample that belongs to one (a sample in Node's own
 * stream code called from the GET stage counts as `node streams`):
 * generator = src/benchmark (sampling, statistics, Parquet), get stage = src/stages/get*.ts,
 * results.ts and errors.ts (the errors it builds), transport = src/transport, signing = @smithy signature/hash and node:crypto,
 * undici = the HTTP client (llhttp included), node streams/events/abort = Node's own plumbing.
 * Memory: the whole profile is read into memory (a 10 s profile is a few MB).
 */
import { readFile } from 'node:fs/promises'

interface Frame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: Frame
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

const AREAS: [string, (f: Frame) => boolean][] = [
  ['generator (src/benchmark)', (f) => f.url.includes('/src/benchmark/') || f.url.includes('parquet-wasm') || f.url.includes('apache-arrow')],
  ['get stage (src/stages/get*, results, errors)', (f) => /\/src\/stages\/get|\/src\/results\.ts|\/src\/errors\.ts/.test(f.url)],
  ['transport (src/transport)', (f) => f.url.includes('/src/transport/')],
  [
    'signing (@smithy, node:crypto)',
    (f) =>
      /@smithy\/(signature-v4|core\/dist-cjs\/submodules\/checksum|util)|node:internal\/crypto|node:crypto/.test(f.url) ||
      f.functionName === 'Hmac' ||
      f.functionName === 'Hash',
  ],
  ['undici (HTTP client, llhttp)', (f) => f.url.includes('/undici/') || f.url.startsWith('wasm://')],
  [
    'node net/socket writes',
    (f) => /node:net|stream_base_commons/.test(f.url) || f.functionName === 'writeLatin1String' || f.functionName === 'writeUtf8String',
  ],
  ['node streams', (f) => /node:internal\/streams\//.test(f.url)],
  ['node events/abort/timers', (f) => /node:events|event_target|abort_controller|node:internal\/timers/.test(f.url)],
]

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1]! : fallback
}

const short = (u: string) => u.replace(/.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')
const label = (f: Frame) => `${f.functionName || '(anonymous)'} ${short(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`

async function main(): Promise<void> {
  const file = process.argv[2]
  if (!file || file.startsWith('--')) throw new Error('usage: npx tsx bench/cpu-profile.ts PROFILE.cpuprofile [--seconds 10] [--top 25]')
  const seconds = Number(flag('--seconds', '10'))
  const topN = Number(flag('--top', '25'))
  const p = JSON.parse(await readFile(file, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const stackOf = (id: number): Frame[] => {
    const out: Frame[] = []
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) out.push(byId.get(x)!.callFrame)
    return out
  }
  const stacks = new Map<number, Frame[]>()
  const stack = (id: number): Frame[] => {
    let frames = stacks.get(id)
    if (frames === undefined) stacks.set(id, (frames = stackOf(id)))
    return frames
  }
  let t = p.startTime
  const times = p.timeDeltas.map((d) => (t += d))
  const inWorker = (id: number) => stack(id).some((f) => f.functionName === 'worker' && f.url.includes('/benchmark/run.'))
  let last = 0
  p.samples.forEach((id, i) => {
    if (inWorker(id)) last = times[i]!
  })
  if (last === 0) throw new Error(`${file}: no sample ran a benchmark worker (is this the main thread's profile of bench/load.ts?)`)
  const from = last - seconds * 1e6 + 0.3e6
  const to = last - 0.3e6
  const counts = new Map<number, number>()
  let total = 0
  let idle = 0
  p.samples.forEach((id, i) => {
    if (times[i]! < from || times[i]! > to) return
    total++
    if (byId.get(id)!.callFrame.functionName === '(idle)') idle++
    else counts.set(id, (counts.get(id) ?? 0) + 1)
  })
  const busy = total - idle
  const areas = new Map<string, number>()
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, n] of counts) {
    const s = stack(id)
    const leaf = s[0]!
    const area =
      leaf.functionName === '(garbage collector)'
        ? 'garbage collector'
        : (s.map((f) => AREAS.find(([, test]) => test(f))?.[0]).find((a) => a !== undefined) ?? 'other (microtasks, program, ...)')
    areas.set(area, (areas.get(area) ?? 0) + n)
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + n)
    for (const key of new Set(s.map(label))) inclusive.set(key, (inclusive.get(key) ?? 0) + n)
  }
  const pct = (n: number) => `${((100 * n) / busy).toFixed(1).padStart(5)}%`
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, n]) => `${pct(n)}  ${name}`)
  console.log(
    `${file}: ${((to - from) / 1e6).toFixed(1)} s window, ${total} samples, ${((100 * idle) / total).toFixed(1)}% idle; shares are of the ${busy} busy samples`,
  )
  console.log('\nby area (innermost frame that belongs to one):', ...top(areas, AREAS.length + 2).map((l) => `\n  ${l}`))
  console.log('\ntop functions, self time:', ...top(self, topN).map((l) => `\n  ${l}`))
  console.log('\ntop functions, inclusive time:', ...top(inclusive, topN).map((l) => `\n  ${l}`))
}

await main()
