/**
 * Client CPU per S3 request on the hot path.
 *
 *   npx tsx bench/hotpath.ts [--requests 4000] [--pages 300] [--runs 3] [--concurrency 16]
 *
 * A null S3 server runs in its own process (node:http: GET answers 4 KiB, PUT drains the body,
 * ListObjectsV2 answers one 1000-key page), so only client work is counted. Each variant runs in
 * its own client process: the bare AWS SDK v3 S3Client, the `sdk` transport (the same client
 * behind the transport interface) and the `fast` transport (undici + the SDK's SigV4 signer + the
 * streaming XML reader). A client process sends 50 warm-up requests, then `--requests` GETs of
 * 4 KiB and PUTs of 4 KiB at `--concurrency`, and `--pages` ListObjectsV2 pages at concurrency 4
 * parsed into entries; it reports `process.cpuUsage()` per request. Variants run interleaved,
 * `--runs` times; the table shows medians and the ratio to the bare SDK.
 *
 * Both SDK variants use the settings bucketflow uses for a non-AWS endpoint (path style,
 * WHEN_REQUIRED checksums, keep-alive sockets); over http:// the SDK hashes the payload for the
 * signature. The fast transport sends UNSIGNED-PAYLOAD with a Content-MD5 the server checks.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { createTransport } from '../src/transport/index.js'
import type { Transport } from '../src/transport/types.js'

const self = fileURLToPath(import.meta.url)

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

// ---------------------------------------------------------------------------------------------
// The null server.

const OBJECT = Buffer.alloc(4096, 'x')
const OBJECT_ETAG = `"${createHash('md5').update(OBJECT).digest('hex')}"`

function listPage(encoded: boolean): Buffer {
  let xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bench</Name><Prefix></Prefix><KeyCount>1000</KeyCount><MaxKeys>1000</MaxKeys>${encoded ? '<EncodingType>url</EncodingType>' : ''}<IsTruncated>true</IsTruncated>`
  for (let i = 0; i < 1000; i++) {
    const h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) >>> 0
    const key = `logs/2026/12/01/host-${(h % 97).toString().padStart(2, '0')}/part-${String(i).padStart(6, '0')}.json.gz`
    xml += `<Contents><Key>${key}</Key><LastModified>2026-12-01T${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00.000Z</LastModified><ETag>&quot;${h.toString(16).padStart(8, '0')}0123456789abcdef01234567&quot;</ETag><Size>${h % 50_000_000}</Size><StorageClass>STANDARD</StorageClass></Contents>`
  }
  return Buffer.from(`${xml}<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken></ListBucketResult>`)
}

function serve(): void {
  const plain = listPage(false)
  const encoded = listPage(true)
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/'
    const common = { 'x-amz-request-id': 'null', date: new Date().toUTCString() }
    if (req.method === 'PUT') {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { ...common, etag: OBJECT_ETAG, 'content-length': '0' })
        res.end()
      })
      return
    }
    if (url.includes('list-type=2')) {
      const page = url.includes('encoding-type=url') ? encoded : plain
      res.writeHead(200, { ...common, 'content-type': 'application/xml', 'content-length': String(page.length) })
      res.end(page)
      return
    }
    res.writeHead(200, {
      ...common,
      'content-type': 'application/octet-stream',
      'content-length': String(OBJECT.length),
      etag: OBJECT_ETAG,
      'last-modified': 'Tue, 01 Dec 2026 12:00:00 GMT',
      'accept-ranges': 'bytes',
    })
    res.end(OBJECT)
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${(server.address() as AddressInfo).port}\n`)
  })
}

// ---------------------------------------------------------------------------------------------
// One client process: one variant, one operation.

type Variant = 'bare-sdk' | 'sdk' | 'fast'
type Op = 'get' | 'put' | 'list'

interface ClientResult {
  variant: Variant
  op: Op
  requests: number
  cpuMs: number
  wallMs: number
  entries: number
}

function sdkClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench-secret' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 } },
  })
}

async function drain(body: AsyncIterable<Uint8Array> | undefined): Promise<number> {
  let n = 0
  for await (const c of body ?? []) n += c.byteLength
  return n
}

async function runClient(variant: Variant, op: Op, endpoint: string, count: number, concurrency: number): Promise<ClientResult> {
  const client = sdkClient(endpoint)
  const transport: Transport | undefined = variant === 'bare-sdk' ? undefined : createTransport(client, { kind: variant, concurrency })
  let entries = 0
  const one = async (i: number): Promise<void> => {
    const Key = `obj-${i % 1000}`
    if (transport) {
      if (op === 'get') {
        const out = await transport.getObject({ Bucket: 'bench', Key })
        if ((await drain(out.Body)) !== 4096) throw new Error('short body')
      } else if (op === 'put') {
        await transport.putObject({ Bucket: 'bench', Key, Body: OBJECT })
      } else {
        const page = await transport.listObjectsV2({ Bucket: 'bench', MaxKeys: 1000 })
        entries += page.Contents.length
      }
      return
    }
    if (op === 'get') {
      const out = await client.send(new GetObjectCommand({ Bucket: 'bench', Key }))
      if ((await drain(out.Body as AsyncIterable<Uint8Array>)) !== 4096) throw new Error('short body')
    } else if (op === 'put') {
      await client.send(new PutObjectCommand({ Bucket: 'bench', Key, Body: OBJECT, ContentLength: OBJECT.length }))
    } else {
      const page = await client.send(new ListObjectsV2Command({ Bucket: 'bench', MaxKeys: 1000 }))
      entries += page.Contents?.length ?? 0
    }
  }
  const runMany = async (n: number, c: number): Promise<void> => {
    let next = 0
    await Promise.all(
      Array.from({ length: c }, async () => {
        while (next < n) await one(next++)
      }),
    )
  }
  await runMany(50, Math.min(concurrency, 8))
  entries = 0
  const start = process.cpuUsage()
  const wall = performance.now()
  await runMany(count, concurrency)
  const used = process.cpuUsage(start)
  const wallMs = performance.now() - wall
  await transport?.close()
  client.destroy()
  return { variant, op, requests: count, cpuMs: (used.user + used.system) / 1000, wallMs, entries }
}

// ---------------------------------------------------------------------------------------------
// The runner.

function child(args: string[]): { stdout: Promise<string>; kill: () => void; firstLine: Promise<string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', self, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  })
  let out = ''
  let resolveLine!: (s: string) => void
  const firstLine = new Promise<string>((r) => (resolveLine = r))
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    const nl = out.indexOf('\n')
    if (nl >= 0) resolveLine(out.slice(0, nl))
  })
  const stdout = new Promise<string>((resolve, reject) => {
    proc.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`client ${args.join(' ')} exited ${code}`))))
  })
  return { stdout, kill: () => proc.kill(), firstLine }
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve')) return serve()
  if (process.argv.includes('--client')) {
    const result = await runClient(
      arg('client', 'fast') as Variant,
      arg('op', 'get') as Op,
      arg('endpoint', ''),
      Number(arg('count', '1000')),
      Number(arg('concurrency', '16')),
    )
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  const requests = Number(arg('requests', '4000'))
  const pages = Number(arg('pages', '300'))
  const runs = Number(arg('runs', '3'))
  const concurrency = Number(arg('concurrency', '16'))
  const server = child(['--serve'])
  server.stdout.catch(() => undefined)
  const endpoint = `http://127.0.0.1:${(await server.firstLine).trim()}`
  const variants: Variant[] = ['bare-sdk', 'sdk', 'fast']
  const ops: Op[] = ['get', 'put', 'list']
  const samples = new Map<string, number[]>()
  try {
    for (let run = 1; run <= runs; run++) {
      for (const op of ops) {
        for (const variant of variants) {
          const count = op === 'list' ? pages : requests
          const c = op === 'list' ? 4 : concurrency
          const r = JSON.parse(
            (await child(['--client', variant, '--op', op, '--endpoint', endpoint, '--count', String(count), '--concurrency', String(c)]).stdout).trim(),
          ) as ClientResult
          if (op === 'list' && r.entries !== count * 1000) throw new Error(`${variant} parsed ${r.entries} entries, expected ${count * 1000}`)
          const perRequest = r.cpuMs / r.requests
          samples.set(`${variant}/${op}`, [...(samples.get(`${variant}/${op}`) ?? []), perRequest])
          process.stderr.write(
            `run ${run} ${op.padEnd(4)} ${variant.padEnd(8)} ${perRequest.toFixed(3)} ms CPU/request, ${(r.requests / (r.wallMs / 1000)).toFixed(0)} req/s\n`,
          )
        }
      }
    }
  } finally {
    server.kill()
  }
  const med = (v: Variant, op: Op) => median(samples.get(`${v}/${op}`)!)
  const label: Record<Op, string> = { get: 'GET 4 KiB, ms CPU', put: 'PUT 4 KiB, ms CPU', list: 'ListObjectsV2 1000-key page parsed into entries, ms CPU' }
  const goal: Record<Op, number> = { get: 0.35, put: 0.35, list: 0.1 }
  console.log(
    `\nClient CPU per request (median of ${runs} runs; ${requests} GETs/PUTs at concurrency ${concurrency}, ${pages} list pages at 4; Node ${process.version})\n`,
  )
  console.log('| per request | bare AWS SDK v3 S3Client | `sdk` transport | `fast` transport | fast / bare SDK | goal |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const op of ops) {
    const bare = med('bare-sdk', op)
    console.log(
      `| ${label[op]} | ${bare.toFixed(3)} | ${med('sdk', op).toFixed(3)} | ${med('fast', op).toFixed(3)} | ${(med('fast', op) / bare).toFixed(2)}x | <= ${goal[op]}x |`,
    )
  }
}

await main()
