/**
 * `--include`/`--exclude` patterns against their reference: Python's `fnmatch`, which aws-cli
 * uses, on the same patterns and paths.
 */
import { execFile } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { globToRegExp, PathFilter } from '../../src/cli/filters.js'

const PATTERNS = [
  '*',
  '*.txt',
  'a/*',
  '*/b.txt',
  '?.txt',
  'a?c',
  '[abc].txt',
  '[!abc].txt',
  '[]].txt',
  '[!]].txt',
  '[',
  'x[',
  '[a-c]*',
  'a.*',
  '**/x',
  'a\\b',
  '*[0-9]',
  'café/*',
  '日本*',
  '#*',
  '100%*',
  '+*',
  '&*',
  '(x)',
  '{a,b}',
  '$x',
  '^x',
  'a|b',
]
const PATHS = [
  'a.txt',
  'b.txt',
  'd.txt',
  ']',
  '].txt',
  'x.txt',
  'a/b.txt',
  'a/b/c.txt',
  'abc',
  'axc',
  'a/c',
  'a.b',
  'a.',
  '[',
  'x[',
  'x',
  'a/x',
  'a\\b',
  'a5',
  'café/menu',
  '日本語.txt',
  '#hash',
  '100%.txt',
  '+plus',
  '&amp',
  '(x)',
  '{a,b}',
  '$x',
  '^x',
  'a|b',
  'line\nbreak.txt',
]

describe('include/exclude patterns match as Python fnmatch (aws-cli) does', () => {
  it('gives the same answer as fnmatch.fnmatchcase for every pattern and path', async () => {
    const script =
      'import fnmatch, json, sys\nd = json.load(sys.stdin)\nprint(json.dumps([[fnmatch.fnmatchcase(p, pat) for p in d["paths"]] for pat in d["patterns"]]))'
    const child = execFile('/usr/bin/python3', ['-c', script])
    const out = new Promise<string>((resolve, reject) => {
      let s = ''
      child.stdout!.on('data', (d: Buffer) => (s += d.toString()))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`python3 exited ${code}`))))
    })
    child.stdin!.end(JSON.stringify({ patterns: PATTERNS, paths: PATHS }))
    const expected = JSON.parse(await out) as boolean[][]
    const got = PATTERNS.map((pat) => PATHS.map((p) => globToRegExp(pat).test(p)))
    const differences = PATTERNS.flatMap((pat, i) =>
      PATHS.filter((_, j) => got[i]![j] !== expected[i]![j]).map((p) => `${pat} ~ ${JSON.stringify(p)}: python ${!got[i]![PATHS.indexOf(p)]}`),
    )
    expect(differences).toEqual([])
    expect(expected.flat().filter(Boolean).length).toBeGreaterThan(20)
  })

  it('applies filters in order, the last match winning, everything included by default', () => {
    const f = new PathFilter([
      { type: 'exclude', pattern: '*' },
      { type: 'include', pattern: '*.txt' },
      { type: 'exclude', pattern: 'tmp/*' },
    ])
    expect(['a.txt', 'a.csv', 'tmp/b.txt', 'deep/tmp/c.txt'].filter((p) => f.accepts(p))).toEqual(['a.txt', 'deep/tmp/c.txt'])
    expect(new PathFilter([]).accepts('anything')).toBe(true)
    expect(new PathFilter([{ type: 'include', pattern: '*.txt' }]).accepts('a.csv')).toBe(true)
  })

  it('refuses a pattern that is no pattern', () => {
    expect(() => globToRegExp('[z-a]')).toThrow(/Invalid --include\/--exclude pattern/)
  })
})
