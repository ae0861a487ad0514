/** What the engine tells a peer to do, and what a peer is. */
import type { PhaseId, WorkloadId } from '../workloads.js'

/** Where the S3 server is and how to sign requests to it. */
export interface S3Target {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
}

/**
 * One timed phase for one tool. Conventions every peer follows:
 * - W1/W2 `put`: upload every file of `dir` (flat) to `prefix + name`.
 * - W1/W2 `get`: download every object under `prefix` into `dir` as `dir/<key minus prefix>`.
 * - W3 `put`: upload standard input (length unknown) to `key`; W3 `get`: write `key` to standard output.
 * - W4 `list`: list every key under `prefix`, printed to standard output.
 * - W5 `class`: change every object under `prefix` to `storageClass`.
 */
export interface PhaseTask {
  workload: WorkloadId
  phase: PhaseId
  s3: S3Target
  bucket: string
  prefix: string
  dir: string
  key: string
  storageClass: string
  /** Requests (or parts) in flight, for every tool that has such a knob. */
  concurrency: number
  /** Multipart part size in bytes, for every tool that has such a knob. */
  partSize: number
}

/** Which phases a peer takes part in. */
export type Supports = Partial<Record<WorkloadId, readonly PhaseId[]>>

interface PeerBase {
  name: string
  /** One line: what the peer is and how it is configured. */
  description: string
  supports: Supports
  /** Hidden peers run only when named (e.g. the corrupting control peer). */
  hidden?: boolean
}

/** A peer that runs inside a child Node process (module under peers/, see child.ts). */
export interface NodePeer extends PeerBase {
  kind: 'node'
  /** A package the peer needs that bucketflow does not depend on at run time (skipped when missing). */
  requires?: string
}

/** A command to spawn. */
export interface Invocation {
  file: string
  args: string[]
  /** Environment added to the child's (AWS_* and RCLONE_* of the parent are not passed on). */
  env: Record<string, string>
}

/** Ready-to-use external tool. */
export interface PreparedTool {
  version: string
  /** How the tool was found or set up, for the report. */
  note?: string
  invocation(task: PhaseTask): Invocation
  /** Keys from the tool's W4 output. */
  parseList(stdout: string, task: PhaseTask): string[]
  /** A cheap command that shows the tool's start-up cost. */
  startup: Invocation
}

/** Options for finding or installing external tools. */
export interface PrepareOptions {
  s3: S3Target
  concurrency: number
  partSize: number
  /** A private folder for the tool's configuration. */
  tmp: string
  /** Install missing Debian packages with apt-get when running as root. */
  install: boolean
  log: (line: string) => void
}

/** A peer that is an external command (rclone, aws-cli). */
export interface ExternalPeer extends PeerBase {
  kind: 'external'
  /** Find (or install) the tool; resolves to a reason string when it cannot be used. */
  prepare(options: PrepareOptions): Promise<PreparedTool | string>
}

export type Peer = NodePeer | ExternalPeer

/** True when the peer takes part in `phase` of `workload`. */
export function supports(peer: Peer, workload: WorkloadId, phase: PhaseId): boolean {
  return peer.supports[workload]?.includes(phase) ?? false
}
