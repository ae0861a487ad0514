/**
 * The types of a partitioned listing: the public options, checkpoint and progress, and the
 * scheduler's record of one key range.
 *
 * @example
 * ```ts
 * import type { ListCheckpoint } from 'bucketflow'
 * const saved: ListCheckpoint = { version: 1, bucket: 'my-data', prefix: 'logs/', ranges: [{}] }
 * ```
 * @packageDocumentation
 */
import type { AbortError } from '../../errors.js'
import type { ListPage } from '../list.js'

/** A key range: keys strictly after `startAfter` and strictly before `endBefore` (UTF-8 order). */
export interface KeyRange {
  /** Absent: from the first key (under the prefix). */
  startAfter?: string
  /** Absent: to the last key (under the prefix). */
  endBefore?: string
}

/**
 * Where a partitioned listing stands: the ranges still to list, each starting after the last key
 * already yielded from it. Plain data: `JSON.stringify` it, and pass it back as `resume`.
 */
export interface ListCheckpoint {
  version: 1
  bucket: string
  prefix: string
  ranges: KeyRange[]
}

/** Progress of a partitioned listing, counted over what has been yielded. */
export interface ListProgress {
  /** Keys yielded so far. */
  keys: number
  /** Pages yielded so far. */
  pages: number
  /** Ranges listed to their end and fully yielded. */
  rangesDone: number
  /** Ranges known so far (grows as ranges are split). */
  rangesTotal: number
}

/** Options for {@link listPartitioned}. */
export interface PartitionedListOptions {
  /** List only keys under this prefix. */
  prefix?: string
  /** ListObjectsV2 requests in flight at once. Default: the bucket's `concurrency` (8). */
  concurrency?: number
  /** Stop: in-flight requests are aborted and the listing throws an {@link AbortError}. */
  signal?: AbortSignal
  /**
   * Yield pages in global key order (the order of a serial listing). Pages of later ranges wait
   * in a buffer bounded as above (`2 * concurrency + 1` pages with those in flight). Default
   * false: pages come as they arrive.
   */
  ordered?: boolean
  /** Keys per request, 1 to 1000. Default 1000. */
  pageSize?: number
  /** Ask for object owners (FetchOwner). */
  fetchOwner?: boolean
  /** Continue a listing from a {@link ListCheckpoint}: yields exactly the keys not yielded before. */
  resume?: ListCheckpoint
  /** Called after every yielded page. */
  onProgress?: (progress: ListProgress) => void
}

/** The pages of a partitioned listing, plus where it stands. */
export interface PartitionedListing extends AsyncGenerator<ListPage, void, undefined> {
  /**
   * The ranges still to list after everything yielded so far (including the page the consumer
   * holds now). Save it after processing a page; resume with `{ resume: checkpoint }`.
   */
  checkpoint(): ListCheckpoint
  /** Current progress (as passed to `onProgress`). */
  progress(): ListProgress
}

/** A sample of keys a range saw: the first and last key of a full page and how many keys. */
export interface Sample {
  first: string
  last: string
  n: number
}

export interface Range {
  startAfter: string | undefined
  endBefore: string | undefined
  /** StartAfter of the next request. */
  cursor: string | undefined
  /** ContinuationToken for the next request (only when a truncated page had no key to resume after). */
  token: string | undefined
  /** Last key yielded from this range (the checkpoint position). */
  yielded: string | undefined
  inFlight: boolean
  /** Listed to its end. */
  listed: boolean
  /** Pages fetched, not yet yielded (ordered mode keeps them here). */
  queue: ListPage[]
  /** Number of fetched pages not yet yielded. */
  buffered: number
  /** The range this one was split off while listing (undefined for the first ranges). */
  parent: Range | undefined
  /** Ranges split off this one that turned out empty since its cursor last moved. */
  emptySplits: number
  /** Size the last request by the estimated keys left (off once an estimate proved too low). */
  sizeTail: boolean
  /** The last page this range listed (for split points and estimates). */
  sample: Sample | undefined
}
