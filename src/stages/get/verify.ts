/**
 * Verification of downloaded bytes against what the server offers, and the second download that
 * settles a multipart ETag whose part layout could not be confirmed.
 */
import { transportOf, type BucketRef } from '../../bucket-ref.js'
import { expectationFor, hasherFor, multipartEtagParts, type ContentClaims, type Expectation, type Hasher, type Verification } from '../../checksums.js'
import { clientSettings } from '../../client.js'
import { IntegrityError } from '../../errors.js'
import type { Settings } from './options.js'
// ---- verification ------------------------------------------------------------------------------

/** Checks the bytes of one download as they pass, in order. */
export class Verifier {
  readonly hasher: Hasher | undefined
  constructor(readonly expectation: Expectation | undefined) {
    this.hasher = expectation ? hasherFor(expectation) : undefined
  }
  update(bytes: Uint8Array): void {
    this.hasher?.update(bytes)
  }
}

/** Settings of one download, validated. */

/**
 * Compare a finished digest with the expectation. A multipart ETag checked with a guessed part
 * size proves the bytes when it matches; when it does not, a HEAD with `partNumber=1` tells
 * whether the guess was right (the mismatch is then corruption). A server that cannot say
 * leaves it unproven: an IntegrityError marked `unconfirmed`, which a download that can be
 * fetched again settles by comparing two downloads.
 */
export async function check(ref: BucketRef, key: string, exp: Expectation, actual: string, s: Settings, signal: AbortSignal): Promise<Verification> {
  const where = { bucket: ref.name, key }
  const expected = exp.expected
  if (actual === expected) return exp.algorithm
  if (exp.algorithm === 'md5-parts') {
    if (s.acceptDigest === actual) {
      // Two downloads agree: the bytes are right and the part layout is not the guessed one.
      rememberUnknownLayout(ref, key, expected)
      return 'size'
    }
    const confirmed = await confirmLayout(ref, key, exp, signal)
    if (!confirmed) {
      throw new UnconfirmedLayoutError(
        `s3://${ref.name}/${key}: its multipart ETag ${expected} does not match the parts of ${exp.partSize} bytes downloaded (${actual}), and the server does not say its part size; download it with the partSize it was uploaded with, or verify: false`,
        { ...where, algorithm: exp.algorithm, expected, actual },
      )
    }
  }
  throw new IntegrityError(`s3://${ref.name}/${key} arrived corrupted: ${exp.algorithm} expected ${expected}, got ${actual}`, {
    ...where,
    algorithm: exp.algorithm,
    expected,
    actual,
  })
}

/**
 * Multipart ETags whose part layout turned out not to be the guessed one (two downloads agreed
 * against it): later downloads of the same object check only the length instead of paying for
 * a second download every time. Bounded (oldest forgotten first).
 */
export const unknownLayouts = new Set<string>()
export const UNKNOWN_LAYOUTS_KEPT = 1000

export function layoutId(ref: BucketRef, key: string, etag: string): string {
  return `${ref.name}\0${key}\0${etag.replace(/"/g, '')}`
}

export function rememberUnknownLayout(ref: BucketRef, key: string, etag: string): void {
  unknownLayouts.add(layoutId(ref, key, etag))
  if (unknownLayouts.size > UNKNOWN_LAYOUTS_KEPT) unknownLayouts.delete(unknownLayouts.values().next().value!)
}

/** The expectation for a whole-object answer, unless its multipart layout is known to be unknown. */
export function expectationOf(ref: BucketRef, key: string, claims: ContentClaims, total: number, partSize: number): Expectation | undefined {
  const exp = expectationFor(claims, total, partSize)
  if (exp?.algorithm === 'md5-parts' && unknownLayouts.has(layoutId(ref, key, exp.expected))) return undefined
  return exp
}

/** An IntegrityError where a multipart layout could not be confirmed (see {@link check}). */
export class UnconfirmedLayoutError extends IntegrityError {}

export async function confirmLayout(ref: BucketRef, key: string, exp: Expectation, signal: AbortSignal): Promise<boolean> {
  try {
    const out = await transportOf(ref).headObject({ Bucket: ref.name, Key: key, PartNumber: 1 }, { signal })
    const parts = multipartEtagParts(exp.expected)?.parts
    return out.PartsCount !== undefined && out.PartsCount === parts && out.ContentLength === exp.partSize
  } catch {
    return false
  }
}

/**
 * Fetch again (once, or up to the client's `maxAttempts`) a download to memory or a file that
 * failed verification, since nothing was handed over yet. A multipart ETag that could not be
 * confirmed is accepted (as `size`) when two downloads agree byte for byte.
 */
export async function withVerifyRetry<T>(
  ref: BucketRef,
  _key: string,
  s: Settings,
  signal: AbortSignal,
  attempt: (s: Settings, n: number) => Promise<T>,
): Promise<T> {
  const { maxAttempts } = clientSettings(ref.client)
  let settings = s
  for (let n = 1; ; n++) {
    try {
      return await attempt(settings, n)
    } catch (err) {
      if (!(err instanceof IntegrityError) || signal.aborted || n >= Math.max(2, maxAttempts)) throw err
      if (err instanceof UnconfirmedLayoutError && err.actual !== undefined) settings = { ...settings, acceptDigest: err.actual }
    }
  }
}
