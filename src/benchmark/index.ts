/**
 * `bucketflow/bench`: a load generator for any S3 endpoint, in the spirit of MinIO's warp, built
 * on the library's own stages (so it measures bucketflow itself), with results as data.
 *
 * - {@link benchmark}: put, get, mixed, list, stat, delete, multipart and copy workloads for a
 *   duration (or until throughput is stable), at one concurrency or a sweep of them; every
 *   request is a sample (operation, size, start, time to first byte, duration, outcome, client).
 * - Samples stream to Parquet ({@link SampleWriter}, schema in samples.ts) for DuckDB, pandas or
 *   Polars; {@link loadResults} reads them back and merges several clients' files.
 * - {@link formatSummary}, {@link throughputChart}, {@link latencyChart}: the summary as a table
 *   and as SVG; {@link compareSummaries}: two runs side by side with their spread.
 *
 * Not loaded by `import 'bucketflow'`.
 *
 * @example
 * ```ts
 * import { Bucket } from 'bucketflow'
 * import { benchmark, formatSummary } from 'bucketflow/bench'
 * const bucket = new Bucket('bench-target', { concurrency: 32 })
 * const summary = await benchmark(bucket, { workload: 'mixed', duration: 60_000, concurrency: [8, 16, 32], sizes: { min: 1024, max: 1024 ** 2 }, results: 'mixed.parquet' })
 * console.log(formatSummary(summary))
 * ```
 * @packageDocumentation
 */
export { benchmark } from './run.js'
export { DEFAULT_WEIGHTS } from './settings.js'
export { AUTOTERM_DEFAULTS } from './autoterm.js'
export { compareSummaries, formatComparison, type Change, type ComparisonRow } from './compare.js'
export { estimateRequests, type RequestCounts, type RequestEstimate } from './cost.js'
export { latencyChart, throughputChart } from './charts.js'
export { loadResults, type LoadedResults, type LoadResultsOptions } from './results.js'
export { readSamples, SAMPLE_SCHEMA, SampleWriter, type SampleWriterOptions, type StoredSample } from './samples.js'
export { parseSize, parseSizes, type SizeSpec } from './sizes.js'
export { quantile } from './stats.js'
export { kneeOf, kneeOfLevels } from './summary.js'
export { formatSummary } from './table.js'
export {
  WORKLOADS,
  type AutotermOptions,
  type BenchmarkOptions,
  type BenchmarkSummary,
  type BenchOperation,
  type BenchPhase,
  type BenchProgress,
  type BenchSample,
  type BenchWorkload,
  type CpuSummary,
  type LatencySummary,
  type LevelSummary,
  type MixedOperation,
  type OpSummary,
} from './types.js'
