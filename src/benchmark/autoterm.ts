/**
 * Auto-termination: stop a run once its throughput is stable.
 *
 * The rule (warp's, made exact): successful operations are counted by completion time in
 * 10 ms slots from the start of the measured phase. At each check the complete slots so far are
 * split into `blocks` (25) blocks of (nearly) equal numbers of slots (block `j` holds slots
 * `floor(j S / blocks)` to `floor((j + 1) S / blocks)`); the run is stable when the throughput
 * (count / block length) of each of the last `last` (7) blocks lies within `tolerance` (7.5%) of
 * their mean, that mean is above zero, and those blocks cover at least `minStable` ms (10 s). A drift larger than the tolerance keeps
 * a run going until its duration. Memory: 4 bytes per 10 ms of run (1.4 MB an hour).
 *
 * @example
 * ```ts
 * import { benchmark } from 'bucketflow/bench'
 * const summary = await benchmark(bucket, { workload: 'get', duration: 300_000, autoterm: { tolerance: 0.05 } })
 * console.log(summary.levels[0]!.stoppedBy) // 'autoterm' once stable
 * ```
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../index.js'
import type { AutotermOptions } from './types.js'

/** Slot width, ms. */
export const AUTOTERM_SLOT = 10

/**
 * The defaults: warp's 25 blocks, the last 7 within 7.5%, stable for 10 s.
 *
 * @example
 * ```ts
 * import { AUTOTERM_DEFAULTS, benchmark } from 'bucketflow/bench'
 * await benchmark(bucket, { workload: 'get', duration: 600_000, autoterm: { ...AUTOTERM_DEFAULTS, tolerance: 0.05 } })
 * ```
 */
export const AUTOTERM_DEFAULTS: Required<AutotermOptions> = { blocks: 25, last: 7, tolerance: 0.075, minStable: 10_000 }

/** Fill in and check autoterm options. Throws InvalidArgumentError. */
export function autotermSettings(value: boolean | AutotermOptions | undefined): Required<AutotermOptions> | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return { ...AUTOTERM_DEFAULTS }
  if (value === null || typeof value !== 'object') {
    throw new InvalidArgumentError(`Expected autoterm to be a boolean or { blocks, last, tolerance, minStable }, got ${String(value)}`, {
      argument: 'autoterm',
    })
  }
  const s = { ...AUTOTERM_DEFAULTS, ...value }
  const check = (ok: boolean, name: string, what: string, got: unknown) => {
    if (!ok) throw new InvalidArgumentError(`Expected autoterm.${name} to be ${what}, got ${String(got)}`, { argument: `autoterm.${name}` })
  }
  check(Number.isInteger(s.blocks) && s.blocks >= 2, 'blocks', 'an integer >= 2', s.blocks)
  check(Number.isInteger(s.last) && s.last >= 2 && s.last <= s.blocks, 'last', `an integer between 2 and blocks (${s.blocks})`, s.last)
  check(Number.isFinite(s.tolerance) && s.tolerance > 0 && s.tolerance < 1, 'tolerance', 'a number between 0 and 1 (0.075 = 7.5%)', s.tolerance)
  check(Number.isFinite(s.minStable) && s.minStable >= 0, 'minStable', 'milliseconds >= 0', s.minStable)
  return s
}

/** The last blocks at one check: their time bounds (ms since the epoch) and counts. */
export interface AutotermBlocks {
  bounds: [number, number][]
  counts: number[]
}

/** Counts completions in slots and applies the rule. */
export class Autoterm {
  #slots = new Uint32Array(1024)
  constructor(
    readonly settings: Required<AutotermOptions>,
    /** Start of the measured phase (ms since the epoch). */
    readonly from: number,
  ) {}

  /** Count one successful operation that ended at `end` (ms since the epoch). */
  add(end: number): void {
    const slot = Math.floor((end - this.from) / AUTOTERM_SLOT)
    if (slot < 0) return
    if (slot >= this.#slots.length) {
      const grown = new Uint32Array(Math.max(slot + 1, this.#slots.length * 2))
      grown.set(this.#slots)
      this.#slots = grown
    }
    this.#slots[slot]!++
  }

  /** The last blocks as of `now`, or undefined while there are fewer slots than blocks. */
  blocks(now: number): AutotermBlocks | undefined {
    const { blocks, last } = this.settings
    const complete = Math.floor((now - this.from) / AUTOTERM_SLOT)
    if (complete < blocks) return undefined
    const bounds: [number, number][] = []
    const counts: number[] = []
    for (let j = blocks - last; j < blocks; j++) {
      const s0 = Math.floor((j * complete) / blocks)
      const s1 = Math.floor(((j + 1) * complete) / blocks)
      let n = 0
      for (let s = s0; s < s1 && s < this.#slots.length; s++) n += this.#slots[s]!
      bounds.push([this.from + s0 * AUTOTERM_SLOT, this.from + s1 * AUTOTERM_SLOT])
      counts.push(n)
    }
    return { bounds, counts }
  }

  /** The stable blocks as of `now`, or undefined when the run is not (yet) stable. */
  check(now: number): AutotermBlocks | undefined {
    const b = this.blocks(now)
    if (!b) return undefined
    return isStable(b, this.settings) ? b : undefined
  }
}

/** The rule itself, on the last blocks. */
export function isStable(b: AutotermBlocks, settings: Required<AutotermOptions>): boolean {
  const span = b.bounds[b.bounds.length - 1]![1] - b.bounds[0]![0]
  if (span < settings.minStable) return false
  const rates = b.counts.map((c, i) => c / (b.bounds[i]![1] - b.bounds[i]![0]))
  const mean = rates.reduce((a, r) => a + r, 0) / rates.length
  if (!(mean > 0)) return false
  return rates.every((r) => Math.abs(r - mean) <= settings.tolerance * mean)
}
