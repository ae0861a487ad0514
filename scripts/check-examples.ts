/**
 * Type-check every TSDoc `@example` of src/ as a user would write it: each ```ts block becomes a
 * module under node_modules/.cache/bucketflow-examples/ that imports from the package's public
 * entry ('bucketflow'), with the public names it uses but does not import added to its imports
 * and the documentation's stock placeholders (`bucket`, `client`, ...) declared with their types.
 * Then one tsc program over all of them, with the repository's compiler options.
 *
 * Also lists the public value exports that have no `@example` of their own.
 *
 * Usage: npx tsx scripts/check-examples.ts   (exit 1 when an example does not compile)
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import ts from 'typescript'

const ROOT = resolve(import.meta.dirname, '..')
const OUT = join(ROOT, 'node_modules', '.cache', 'bucketflow-examples')

/**
 * Placeholders the examples use without defining them: what the reader is assumed to hold.
 * Anything else an example uses must be defined in it or be a public export.
 */
const PRELUDE: { name: string; line: string; needs?: [string, string] }[] = [
  { name: 'bucket', line: 'declare const bucket: Bucket', needs: ['Bucket', "import type { Bucket } from 'bucketflow'"] },
  { name: 'client', line: 'declare const client: S3Client', needs: ['S3Client', "import type { S3Client } from '@aws-sdk/client-s3'"] },
]

export interface Example {
  /** Source file, relative to the repository. */
  file: string
  /** Line of the opening fence in the source file. */
  line: number
  /** The declaration it documents (or 'module' for a @packageDocumentation block). */
  symbol: string
  code: string
}

export interface ExampleFailure extends Example {
  errors: string[]
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  )
}

/** Every ```ts block under an @example tag of a /** comment, with the name it documents. */
export function extractExamples(srcDir = join(ROOT, 'src')): Example[] {
  const out: Example[] = []
  for (const path of sourceFiles(srcDir)) {
    const text = readFileSync(path, 'utf8')
    for (const m of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
      const body = m[1]!
      if (!body.includes('@example')) continue
      const after = text.slice(m.index! + m[0].length, m.index! + m[0].length + 400)
      const decl =
        /^\s*(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|const|let|interface|type|enum)\s+([A-Za-z_$][\w$]*)/.exec(
          after,
        )
      const member = /^\s*(?:(?:public|static|readonly|async|get|set)\s+)*\*?([A-Za-z_$][\w$]*)\s*[(<:=]/.exec(after)
      const symbol = body.includes('@packageDocumentation') ? 'module' : (decl?.[1] ?? (member ? `.${member[1]}` : '?'))
      const lines = body.split('\n').map((l) => l.replace(/^\s*\* ?/, ''))
      const startLine = text.slice(0, m.index!).split('\n').length
      let inExample = false
      for (let i = 0; i < lines.length; i++) {
        if (/^@example\b/.test(lines[i]!)) inExample = true
        else if (/^@\w/.test(lines[i]!)) inExample = false
        if (!inExample || !/^```(ts|typescript)\s*$/.test(lines[i]!.trim())) continue
        const code: string[] = []
        let j = i + 1
        for (; j < lines.length && !/^```\s*$/.test(lines[j]!.trim()); j++) code.push(lines[j]!)
        out.push({ file: relative(ROOT, path), line: startLine + i, symbol, code: code.join('\n') })
        i = j
      }
    }
  }
  return out
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(ROOT, 'tsconfig.json')
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, ROOT)
  // Every subpath of the package's exports map, resolved to its source (./dist/x.js -> src/x.ts).
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { import?: string }> }
  const paths: Record<string, string[]> = {}
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const file = typeof target === 'string' ? target : target.import
    if (file === undefined || !file.startsWith('./dist/')) continue
    paths[join(pkg.name, subpath)] = [file.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts')]
  }
  // Examples show values they compute: an unread one is not a mistake there.
  return { ...parsed.options, paths, noEmit: true, declaration: false, sourceMap: false, rootDir: ROOT, noUnusedLocals: false, noUnusedParameters: false }
}

/** Names exported by the package's entry, split into values and types. */
function publicNames(program: ts.Program): { values: Map<string, ts.Symbol>; all: Set<string> } {
  const checker = program.getTypeChecker()
  const index = program.getSourceFile(join(ROOT, 'src', 'index.ts'))!
  const moduleSymbol = checker.getSymbolAtLocation(index)!
  const values = new Map<string, ts.Symbol>()
  const all = new Set<string>()
  for (const s of checker.getExportsOfModule(moduleSymbol)) {
    all.add(s.name)
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s
    if (target.flags & ts.SymbolFlags.Value) values.set(s.name, target)
  }
  return { values, all }
}

/** Public value exports whose own declaration carries no @example. */
export function exportsWithoutExample(program: ts.Program): string[] {
  const missing: string[] = []
  for (const [name, symbol] of publicNames(program).values) {
    const has = (symbol.declarations ?? []).some(
      (d) =>
        ts.getJSDocTags(d).some((t) => t.tagName.text === 'example') ||
        (ts.isVariableDeclaration(d) && ts.getJSDocTags(d.parent.parent).some((t) => t.tagName.text === 'example')),
    )
    if (!has) missing.push(name)
  }
  return missing.sort()
}

function importedNames(code: string): Set<string> {
  const imported = new Set<string>()
  for (const m of code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+['"][^'"]+['"]/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop()!
        .trim()
      if (name) imported.add(name)
    }
  }
  for (const m of code.matchAll(/import\s+(?:\*\s+as\s+)?([A-Za-z_$][\w$]*)\s+from/g)) imported.add(m[1]!)
  return imported
}

/**
 * Whether `code` uses `name` as a free identifier: not part of a longer name and not a property
 * (`x.name`), though a spread (`...name`) counts.
 */
function usesName(code: string, name: string): boolean {
  return new RegExp(`(?<![\\w$])(?<!(?:^|[^.])\\.)${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(code)
}

/** Names of `candidates` that `code` uses without importing or defining them. */
function freeUses(code: string, candidates: Iterable<string>, taken: Set<string>): string[] {
  return [...candidates].filter((n) => !taken.has(n) && usesName(code, n))
}

function moduleText(example: Example, publicValues: Set<string>, fileExports: Set<string>): string {
  const defined = new Set([...example.code.matchAll(/\b(?:const|let|var|function|class)\s+([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!))
  const taken = new Set([...importedNames(example.code), ...defined])
  const fromPackage = freeUses(example.code, publicValues, taken)
  for (const n of fromPackage) taken.add(n)
  // An example on an internal declaration may use its own module's exports.
  const fromModule = freeUses(
    example.code,
    [...fileExports].filter((n) => !publicValues.has(n)),
    taken,
  )
  for (const n of fromModule) taken.add(n)
  const head: string[] = []
  if (fromPackage.length > 0) head.push(`import { ${fromPackage.join(', ')} } from 'bucketflow'`)
  if (fromModule.length > 0) head.push(`import { ${fromModule.join(', ')} } from '${join(ROOT, example.file).replace(/\.ts$/, '.js')}'`)
  for (const p of PRELUDE) {
    if (defined.has(p.name) || !usesName(example.code, p.name)) continue
    if (p.needs && !taken.has(p.needs[0])) {
      head.push(p.needs[1])
      taken.add(p.needs[0])
    }
    head.push(p.line)
  }
  // The example's own imports first, then the added ones and the placeholders.
  const own = example.code.split('\n')
  const ownImports = own.filter((l) => /^import\s/.test(l))
  const rest = own.filter((l) => !/^import\s/.test(l))
  return [`// ${example.file}:${example.line} (${example.symbol})`, ...ownImports, ...head, ...rest, 'export {}', ''].join('\n')
}

/** Value names each source file exports. */
function exportsByFile(program: ts.Program): Map<string, Set<string>> {
  const checker = program.getTypeChecker()
  const out = new Map<string, Set<string>>()
  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.startsWith(join(ROOT, 'src'))) continue
    const symbol = checker.getSymbolAtLocation(sf)
    if (symbol === undefined) continue
    out.set(
      relative(ROOT, sf.fileName),
      new Set(
        checker
          .getExportsOfModule(symbol)
          .filter((s) => s.flags & (ts.SymbolFlags.Value | ts.SymbolFlags.Alias))
          .map((s) => s.name),
      ),
    )
  }
  return out
}

export interface ExampleReport {
  examples: Example[]
  failures: ExampleFailure[]
  missing: string[]
}

/** Extract, write, and type-check every example. */
export function checkExamples(): ExampleReport {
  const examples = extractExamples()
  const options = compilerOptions()
  const indexProgram = ts.createProgram(sourceFiles(join(ROOT, 'src')), options)
  const publicValues = new Set(publicNames(indexProgram).values.keys())
  const fileExports = exportsByFile(indexProgram)
  rmSync(OUT, { recursive: true, force: true })
  mkdirSync(OUT, { recursive: true })
  const files = examples.map((example, i) => {
    const path = join(OUT, `example-${String(i).padStart(3, '0')}.mts`)
    writeFileSync(path, moduleText(example, publicValues, fileExports.get(example.file) ?? new Set()))
    return path
  })
  const program = ts.createProgram(files, options, undefined, indexProgram)
  const failures: ExampleFailure[] = []
  files.forEach((path, i) => {
    const sf = program.getSourceFile(path)!
    const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]
    if (diagnostics.length === 0) return
    const errors = diagnostics.map((d) => {
      const at = d.start === undefined ? '' : `line ${sf.getLineAndCharacterOfPosition(d.start).line + 1}: `
      return `${at}${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`
    })
    failures.push({ ...examples[i]!, errors })
  })
  return { examples, failures, missing: exportsWithoutExample(indexProgram) }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const report = checkExamples()
  for (const f of report.failures) {
    console.log(`FAIL ${f.file}:${f.line} (${f.symbol})`)
    for (const e of f.errors) console.log(`  ${e}`)
  }
  console.log(`${report.examples.length} examples, ${report.failures.length} do not compile (generated in ${relative(ROOT, OUT)})`)
  console.log(`${report.missing.length} public value exports without their own @example: ${report.missing.join(', ')}`)
  process.exitCode = report.failures.length > 0 ? 1 : 0
}
