/**
 * Running a plan of per-item work (uploads, downloads, copies, moves, deletes, storage-class
 * changes) and reporting it the way `aws s3` does: one line per item (`upload: a.txt to
 * s3://b/a.txt`), `(dryrun) ...` lines instead of the work with `--dry-run`, failures on
 * stderr (`upload failed: ...`), a summary. The plan is a stream: work starts with the first
 * item, and memory does not grow with the number of items.
 */
import type { BucketflowError, Result } from '../index.js'
import { describeError, errorJson, EXIT_FAILED, EXIT_OK, type Activity, type CliContext, type Output } from './common.js'

/** The verbs of the lines, as aws-cli prints them (plus freeze and restore). */
export type Op = 'upload' | 'download' | 'copy' | 'move' | 'delete' | 'freeze' | 'restore'

/** One item of work. */
export interface Planned {
  op: Op
  /** Shown as the source: an s3:// URL or a local path. */
  source: string
  /** Shown as the destination, when there is one. */
  destination?: string
  /** The key the stage's result carries for this item (results are paired with items by it). */
  key: string
  /** Bytes, for the progress bar. */
  size?: number
}

/** An item refused before any request (a dangling link, a key that would leave the folder). */
export interface Refused {
  refused: true
  op: Op
  source: string
  destination?: string
  error: BucketflowError
}

/** How to describe the run. */
export interface RunOptions {
  /** The summary's verb, e.g. `upload`. */
  verb: string
  /** For the interruption line, e.g. `upload to s3://b/p/`. */
  what: string
  /** For the interruption line, e.g. `multipart uploads in flight aborted on the server`. */
  cleanup?: string
  dryRun: boolean
}

function line(p: Pick<Planned, 'op' | 'source' | 'destination'>): string {
  return `${p.op}: ${p.source}${p.destination !== undefined ? ` to ${p.destination}` : ''}`
}

function where(p: Pick<Planned, 'op' | 'source' | 'destination'>): Record<string, string> {
  return { op: p.op, source: p.source, ...(p.destination !== undefined ? { destination: p.destination } : {}) }
}

/**
 * Run `plan` through `execute` (a stage yielding one result per item, in input order) and
 * report each item. Returns the exit code: 0 when every item succeeded, 1 otherwise. Items that
 * were stopped by an interruption are not reported one by one: the caller prints one line.
 */
export async function runItems<P extends Planned, T>(
  ctx: CliContext,
  out: Output,
  options: RunOptions,
  plan: AsyncIterable<P | Refused>,
  execute: (items: AsyncIterable<P>) => AsyncIterable<Result<T>>,
): Promise<number> {
  const activity: Activity = { what: options.what, done: 0, total: 0, ...(options.cleanup ? { cleanup: options.cleanup } : {}) }
  ctx.activity = activity
  const progress = out.progress(0)
  let seen = 0
  let ok = 0
  let failed = 0
  const queue: P[] = []
  const fail = (p: Pick<Planned, 'op' | 'source' | 'destination'> & { key?: string }, error: BucketflowError, refused: boolean): void => {
    failed++
    const json = { ok: false, ...where(p), ...(p.key !== undefined ? { key: p.key } : {}), error: errorJson(error) }
    if (refused) out.warn(describeError(error), json)
    else out.error(`${p.op} failed: ${p.source}${p.destination !== undefined ? ` to ${p.destination}` : ''}: ${describeError(error)}`, json)
  }
  async function* feed(): AsyncGenerator<P> {
    for await (const p of plan) {
      if (ctx.signal.aborted) return
      if ('refused' in p) {
        activity.done++
        activity.total = (activity.total ?? 0) + 1
        fail(p, p.error, true)
        continue
      }
      seen++
      activity.total = seen
      progress.setTotal(seen)
      if (options.dryRun) {
        ok++
        out.data(`(dryrun) ${line(p)}`, { dryRun: true, ...where(p), key: p.key })
        continue
      }
      queue.push(p)
      yield p
    }
  }
  try {
    if (options.dryRun) {
      for await (const _ of feed()) void _
    } else {
      for await (const r of execute(feed())) {
        let i = queue.findIndex((p) => p.key === r.key)
        if (i < 0) i = 0
        const p = queue.splice(i, 1)[0]
        if (!p) continue
        if (!r.ok && ctx.signal.aborted) continue // stopped by the interruption: reported once, by the caller
        activity.done++
        progress.tick(p.size ?? 0)
        if (r.ok) {
          ok++
          out.item(line(p), { ok: true, ...where(p), key: p.key, value: r.value ?? null })
        } else {
          fail(p, r.error, false)
        }
      }
    }
  } catch (err) {
    if (!ctx.signal.aborted) throw err
  } finally {
    progress.stop()
  }
  if (ctx.signal.aborted) return EXIT_FAILED
  if (options.dryRun) out.summary(`${options.verb}: ${ok} would be done, ${failed} refused (dry run: nothing was changed)`)
  else out.summary(`${options.verb}: ${ok} ok, ${failed} failed`)
  return failed > 0 ? EXIT_FAILED : EXIT_OK
}
