#!/usr/bin/env node
/**
 * What `npm pack` would publish: the built library, its types, the CLI and the documents, and
 * nothing else (no sources, tests, benchmarks or local state). Run after `npm run build`.
 * Exits 1 with the list of what is missing or unexpected.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' }))
const files = new Set(packed.files.map((f) => f.path))

const allowed = [
  /^dist\/.+\.(js|cjs|d\.ts|d\.cts|js\.map|d\.ts\.map)$/,
  /^dist\/.+\.(wasm|json)$/,
  /^(README\.md|LICENSE|CHANGELOG\.md|package\.json)$/,
  /^scripts\/local-s3\.sh$/,
]
const unexpected = [...files].filter((f) => !allowed.some((re) => re.test(f)))

// Every entry point the package names must be in the tarball.
const required = new Set(['package.json', 'README.md', 'LICENSE', pkg.main, pkg.types, ...Object.values(pkg.bin ?? {})].map((f) => f.replace(/^\.\//, '')))
for (const target of Object.values(pkg.exports)) {
  if (typeof target === 'string') required.add(target.replace(/^\.\//, ''))
  else for (const file of Object.values(target)) required.add(file.replace(/^\.\//, ''))
}
const missing = [...required].filter((f) => !files.has(f))

console.log(
  `${packed.name}@${packed.version}: ${files.size} files, ${(packed.size / 1024).toFixed(0)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked`,
)
for (const f of missing) console.log(`missing: ${f}`)
for (const f of unexpected) console.log(`unexpected: ${f}`)
process.exitCode = missing.length + unexpected.length > 0 ? 1 : 0
