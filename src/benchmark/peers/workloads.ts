/**
 * The benchmark's workloads: what each one moves, in which phases, and how its throughput is
 * counted. `--scale` shrinks counts (and W3's size) for quick runs.
 * @packageDocumentation
 */

/** Workload ids, in report order. */
export const WORKLOAD_IDS = ['W1', 'W2', 'W3', 'W4', 'W5'] as const
export type WorkloadId = (typeof WORKLOAD_IDS)[number]

/**
 * What one timed child process does. `put`/`get` move objects (W1, W2) or one stream (W3),
 * `list` lists a prefix (W4), `class` changes storage classes (W5).
 */
export type PhaseId = 'put' | 'get' | 'list' | 'class'

/** How a phase's throughput is counted. */
export type Unit = 'objects/s' | 'MiB/s'

export const KiB = 1024
export const MiB = 1024 * 1024

/** One workload at a given scale. */
export interface Workload {
  id: WorkloadId
  /** Short: "2000 x 4 KiB", "512 MiB stream", "20000 keys". */
  title: string
  /** What it measures, in a sentence fragment. */
  description: string
  /** Objects involved (1 for W3). */
  count: number
  /** Bytes per object (W3: the stream's length). */
  size: number
  phases: readonly PhaseId[]
  unit: Unit
}

/** Full-scale definitions (scale 1). */
const FULL: Record<WorkloadId, { count: number; size: number; phases: readonly PhaseId[]; unit: Unit; what: string }> = {
  W1: { count: 2000, size: 4 * KiB, phases: ['put', 'get'], unit: 'objects/s', what: 'small objects, put then get' },
  W2: { count: 64, size: 4 * MiB, phases: ['put', 'get'], unit: 'MiB/s', what: 'medium objects, put then get' },
  W3: { count: 1, size: 512 * MiB, phases: ['put', 'get'], unit: 'MiB/s', what: 'one streamed upload of unknown length, then download' },
  W4: { count: 20_000, size: 0, phases: ['list'], unit: 'objects/s', what: 'list keys' },
  W5: { count: 200, size: 4 * KiB, phases: ['class'], unit: 'objects/s', what: 'storage-class changes (copy in place)' },
}

/** Human size: 4096 -> "4 KiB", 536870912 -> "512 MiB". */
export function sizeLabel(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`
  if (bytes >= KiB) return `${(bytes / KiB).toFixed(1)} KiB`
  return `${bytes} B`
}

/** The workloads at `scale` (counts, and W3's size, multiplied by it; at least 1 object / 1 MiB). */
export function workloads(scale: number, only?: readonly WorkloadId[]): Workload[] {
  return WORKLOAD_IDS.filter((id) => !only || only.includes(id)).map((id) => {
    const f = FULL[id]
    const count = id === 'W3' ? 1 : Math.max(1, Math.round(f.count * scale))
    const size = id === 'W3' ? Math.max(MiB, Math.round((f.size * scale) / KiB) * KiB) : f.size
    const title = id === 'W3' ? `${sizeLabel(size)} stream` : id === 'W4' ? `${count} keys` : `${count} x ${sizeLabel(size)}`
    return { id, title, description: f.what, count, size, phases: f.phases, unit: f.unit }
  })
}

/** The amount a phase moves, in its unit's numerator (objects, or MiB). */
export function phaseAmount(w: Workload): number {
  return w.unit === 'MiB/s' ? (w.count * w.size) / MiB : w.count
}

/** File/key name of object `i` of a workload ("000042.bin"). */
export function objectName(i: number): string {
  return `${String(i).padStart(6, '0')}.bin`
}

/** Parse "W1,W3" (case-insensitive). Throws with the expected values on anything else. */
export function parseWorkloadList(value: string): WorkloadId[] {
  const out: WorkloadId[] = []
  for (const part of value
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean)) {
    if (!(WORKLOAD_IDS as readonly string[]).includes(part)) {
      throw new Error(`Expected workloads from ${WORKLOAD_IDS.join(', ')}, got ${JSON.stringify(part)}`)
    }
    if (!out.includes(part as WorkloadId)) out.push(part as WorkloadId)
  }
  if (out.length === 0) throw new Error(`Expected at least one workload of ${WORKLOAD_IDS.join(', ')}, got ${JSON.stringify(value)}`)
  return out
}
