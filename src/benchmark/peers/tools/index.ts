/** Every peer the benchmark knows, in report order; node peers' code is loaded only in their child process. */
import { awsCli } from './aws-cli.js'
import { rclone } from './rclone.js'
import type { NodePeer, Peer, PhaseTask } from './types.js'

const objects = { W1: ['put', 'get'], W2: ['put', 'get'] } as const

export const PEERS: readonly Peer[] = [
  {
    name: 'bucketflow',
    kind: 'node',
    description:
      'Bucket array forms and stages (put(paths, keys), getObjects over list(), putStream, stream, freezeObjects over list()) with concurrency = queueSize = concurrency',
    supports: { ...objects, W3: ['put', 'get'], W4: ['list'], W5: ['class'] },
  },
  {
    name: 'bucketflow-noverify',
    kind: 'node',
    hidden: true,
    description: 'bucketflow as above with verify: false (downloads checked by length only): the cost of verification',
    supports: { ...objects, W3: ['put', 'get'] },
  },
  {
    name: 'sdk-naive',
    kind: 'node',
    description: '@aws-sdk/client-s3, one awaited request after another (W3 put: reads the whole stream, then one PutObject)',
    supports: { ...objects, W3: ['put', 'get'], W4: ['list'], W5: ['class'] },
  },
  {
    name: 'sdk-batch',
    kind: 'node',
    description: '@aws-sdk/client-s3, Promise.all over batches of concurrency requests',
    supports: { ...objects, W5: ['class'] },
  },
  {
    name: 'lib-storage',
    kind: 'node',
    requires: '@aws-sdk/lib-storage',
    description: '@aws-sdk/lib-storage Upload with queueSize = concurrency, partSize = part size',
    supports: { W3: ['put'] },
  },
  {
    name: 'minio-js',
    kind: 'node',
    requires: 'minio',
    description:
      'minio-js Client: fPutObject/fGetObject from concurrency workers, listObjectsV2, putObject of a stream of unknown length (parts of the part size, one at a time), getObject',
    supports: { ...objects, W3: ['put', 'get'], W4: ['list'] },
  },
  rclone,
  awsCli,
  {
    name: 'corrupt',
    kind: 'node',
    hidden: true,
    description: 'control peer: SDK batches with the first byte of every payload flipped (must fail verification)',
    supports: { ...objects, W3: ['put', 'get'] },
  },
]

/** Names of the peers that run by default. */
export const DEFAULT_PEERS = PEERS.filter((p) => !p.hidden).map((p) => p.name)

export function findPeer(name: string): Peer | undefined {
  return PEERS.find((p) => p.name === name)
}

/** The code of a node peer (imported inside its child process only). */
export const NODE_PEER_CODE: Record<string, () => Promise<{ run(task: PhaseTask): Promise<void> }>> = {
  bucketflow: () => import('./bucketflow.js'),
  'bucketflow-noverify': () => import('./bucketflow.js').then((m) => ({ run: (task: PhaseTask) => m.run(task, { verify: false }) })),
  'sdk-naive': () => import('./sdk-naive.js'),
  'sdk-batch': () => import('./sdk-batch.js'),
  'lib-storage': () => import('./lib-storage.js'),
  'minio-js': () => import('./minio.js'),
  corrupt: () => import('./corrupt.js'),
}

export function isNodePeer(peer: Peer): peer is NodePeer {
  return peer.kind === 'node'
}
