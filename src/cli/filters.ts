/**
 * `--include` / `--exclude` with aws-cli's rules: every path is included unless a filter says
 * otherwise; filters are applied in the order given and the last one that matches wins; a
 * pattern is matched against the whole path relative to the source folder with Python's
 * `fnmatch` (`*` matches anything, `/` included; `?` one character; `[seq]`, `[!seq]`).
 */
import { Option, type Command } from 'commander'
import { InvalidArgumentError } from '../index.js'

/** One `--include` or `--exclude`, in command-line order. */
export interface FilterRule {
  type: 'include' | 'exclude'
  pattern: string
}

/** fnmatch's translation of a shell pattern to a regular expression (Python's `fnmatch.translate`). */
export function globToRegExp(pattern: string): RegExp {
  let re = ''
  let i = 0
  const n = pattern.length
  while (i < n) {
    const c = pattern[i++]!
    if (c === '*') {
      while (pattern[i] === '*') i++
      re += '.*'
    } else if (c === '?') {
      re += '.'
    } else if (c === '[') {
      let j = i
      if (pattern[j] === '!') j++
      if (pattern[j] === ']') j++
      while (j < n && pattern[j] !== ']') j++
      if (j >= n) {
        re += '\\['
      } else {
        let stuff = pattern.slice(i, j)
        i = j + 1
        let negate = false
        if (stuff.startsWith('!')) {
          negate = true
          stuff = stuff.slice(1)
        }
        // Inside a JS class, `\`, `]`, `[` and a leading `^` need escaping; ranges stay.
        const body = stuff.replace(/[\\\][^]/g, (m) => `\\${m}`)
        re += negate ? `[^${body}]` : body === '' ? '(?!)' : `[${body}]`
      }
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    }
  }
  try {
    return new RegExp(`^${re}$`, 's')
  } catch {
    throw new InvalidArgumentError(`Invalid --include/--exclude pattern ${JSON.stringify(pattern)}`, { argument: 'pattern' })
  }
}

/** A compiled filter list; `accepts(relativePath)` says whether a path takes part. */
export class PathFilter {
  readonly rules: readonly FilterRule[]
  readonly #compiled: { include: boolean; re: RegExp }[]

  constructor(rules: readonly FilterRule[] = []) {
    this.rules = rules
    this.#compiled = rules.map((r) => ({ include: r.type === 'include', re: globToRegExp(r.pattern) }))
  }

  /** True when no filter was given. */
  get empty(): boolean {
    return this.#compiled.length === 0
  }

  /** Whether the path (relative to the source folder, `/`-separated) is selected. */
  accepts(relativePath: string): boolean {
    let included = true
    for (const { include, re } of this.#compiled) if (re.test(relativePath)) included = include
    return included
  }
}

/**
 * Add `--include` and `--exclude` to a command, collecting both into one ordered list (their
 * relative order decides). Read the list with {@link filterOf}.
 */
export function addFilterOptions(cmd: Command): Command {
  const rules: FilterRule[] = []
  filterLists.set(cmd, rules)
  const collect = (type: FilterRule['type']) => (pattern: string) => {
    rules.push({ type, pattern })
    return rules.filter((r) => r.type === type).map((r) => r.pattern)
  }
  return cmd
    .addOption(
      new Option('--exclude <pattern>', 'leave out paths matching this pattern (relative to the source folder; repeatable)').argParser(collect('exclude')),
    )
    .addOption(
      new Option(
        '--include <pattern>',
        'take paths matching this pattern even if an earlier --exclude left them out (repeatable; later filters win)',
      ).argParser(collect('include')),
    )
}

const filterLists = new WeakMap<Command, FilterRule[]>()

/** The filter given to a command with {@link addFilterOptions}. */
export function filterOf(cmd: Command): PathFilter {
  return new PathFilter(filterLists.get(cmd) ?? [])
}
