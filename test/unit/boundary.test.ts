import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const hooks = resolve(import.meta.dirname, '../support/record-imports.mjs')

/** Runs an ES module program under the import recorder: the file modules it loaded, and its stdout. */
function probe(program: string): { loaded: string[]; stdout: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', hooks, '--input-type=module', '-e', program], { encoding: 'utf8', cwd: root })
  expect(r.status, r.stderr).toBe(0)
  return { loaded: r.stderr.split('\n').filter((l) => l.startsWith('loaded ')), stdout: r.stdout }
}

const at = (path: string) => JSON.stringify(resolve(root, path))
const arrowOrServer = (loaded: string[]) => loaded.filter((l) => /\/apache-arrow\/|\/parquet-wasm\/|\/src\/server\//.test(l))

describe('the library boundary', () => {
  it("import 'bucketflow' loads neither apache-arrow, parquet-wasm nor the embedded server", () => {
    const { loaded } = probe(`await import(${at('src/index.ts')})`)
    expect(loaded.some((l) => l.includes('/src/bucket.ts'))).toBe(true)
    expect(loaded.some((l) => l.includes('/src/sinks/rotating.ts'))).toBe(true)
    expect(arrowOrServer(loaded)).toEqual([])
  })

  it('a listing-to-Arrow call loads the ESM build of apache-arrow, the same copy bucketflow/arrow exports', () => {
    const { loaded, stdout } = probe(`
      const { toRecordBatches } = await import(${at('src/index.ts')})
      const batches = []
      for await (const b of toRecordBatches([{ objects: [{ kind: 'object', key: 'a', size: 1, etag: '"e"', lastModified: new Date(0), storageClass: 'STANDARD' }] }])) batches.push(b)
      const { listingSchema } = await import(${at('src/arrow/index.ts')})
      console.log(JSON.stringify({ rows: batches[0].numRows, sameArrow: batches[0].schema.constructor === listingSchema().constructor }))
    `)
    expect(JSON.parse(stdout)).toEqual({ rows: 1, sameArrow: true })
    const arrow = loaded.filter((l) => l.includes('/apache-arrow/'))
    expect(arrow.some((l) => l.endsWith('/apache-arrow/Arrow.node.mjs'))).toBe(true)
    expect(arrow.filter((l) => !l.endsWith('.mjs'))).toEqual([])
    expect(loaded.filter((l) => /\/parquet-wasm\/|\/src\/server\//.test(l))).toEqual([])
  })

  it('the CLI loads the embedded server only when serve or demo runs, from bucketflow/server', () => {
    const { loaded } = probe(`process.argv = [process.argv[0], 'bucketflow', '--version']; await import(${at('src/cli/main.ts')})`)
    expect(loaded.some((l) => l.includes('/src/cli/serve.ts'))).toBe(true)
    expect(loaded.filter((l) => /\/src\/server\/|\/parquet-wasm\//.test(l))).toEqual([])
    const server = probe(`const { startLocalS3 } = await import(${at('src/server/index.ts')}); console.log(typeof startLocalS3)`)
    expect(server.stdout.trim()).toBe('function')
    expect(server.loaded.some((l) => l.includes('/src/server/server.ts'))).toBe(true)
  })

  it.each(['--version', 'ls --help'])('bucketflow %s loads neither apache-arrow nor parquet-wasm', (command) => {
    const args = command.split(' ')
    const argv = JSON.stringify(['bucketflow', ...args])
    const { loaded, stdout } = probe(`process.argv = [process.argv[0], ...${argv}]; await import(${at('src/cli/main.ts')})`)
    // The probe did run the command: it printed a version or the ls help, and loaded ship and ls.
    expect(stdout).toMatch(args[0] === 'ls' ? /Usage: bucketflow ls/ : /^\d+\.\d+\.\d+/)
    expect(loaded.some((l) => l.includes('/src/cli/ship.ts'))).toBe(true)
    expect(loaded.some((l) => l.includes('/src/cli/ls.ts'))).toBe(true)
    expect(loaded.filter((l) => /\/apache-arrow\/|\/parquet-wasm\//.test(l))).toEqual([])
  })

  it('a Parquet log with a schema lines cannot fill is refused when the stream is created', async () => {
    const { Bucket, createLogStream, InvalidArgumentError } = await import('../../src/index.js')
    const bucket = new Bucket('logs', { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })
    const bad = (schema: unknown) => () => createLogStream(bucket, 'app/', { format: { parquet: { schema: schema as never } } })
    expect(bad({ fields: [] })).toThrow(InvalidArgumentError)
    expect(bad({ fields: [] })).toThrow('A schema needs at least one field')
    expect(bad('ts:utf8')).toThrow(/Expected schema to be an apache-arrow Schema, got/)
    const { schemaFromJson } = await import('../../src/arrow/index.js')
    const list = schemaFromJson({ a: 'utf8' })
    Object.defineProperty(list.fields[0]!.type, 'typeId', { value: 12 })
    expect(bad(list)).toThrow(/Field "a" has type .* which NDJSON lines cannot be turned into/)
  })

  it('the library takes SDK and undici values only through aws-sdk.cts and transport/fast/pool.ts', () => {
    // An ES module importing these CommonJS packages makes Node scan their sources at every start
    // (about 0.1-0.2 s of CPU); `import type` costs nothing. The bench peers load the SDK as users do.
    const allowed = new Set(['src/aws-sdk.cts', 'src/transport/fast/pool.ts'])
    const offenders: string[] = []
    const visit = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name)
        const rel = relative(root, path)
        if (e.isDirectory()) {
          if (rel !== join('src', 'benchmark', 'peers')) visit(path)
        } else if (/\.(ts|cts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') && !allowed.has(rel)) {
          const text = readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
          for (const m of text.matchAll(/^import\s+(?!type\b)([^'"]*?)\s+from\s+'(@aws-sdk\/client-s3|@smithy\/[^']+|undici)'/gm)) {
            if (!/^\{\s*(type\s+[\w$]+\s*,?\s*)+\}$/.test(m[1]!)) offenders.push(`${rel}: ${m[0].replace(/\s+/g, ' ')}`)
          }
        }
      }
    }
    visit(join(root, 'src'))
    expect(offenders).toEqual([])
  })
})
