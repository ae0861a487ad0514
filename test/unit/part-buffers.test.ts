/** The part-buffer pool the multipart sinks of one log stream share. */
import { describe, expect, it } from 'vitest'
import { PartBuffers } from '../../src/upload/multipart/parts.js'

describe('PartBuffers', () => {
  it('hands back given buffers before allocating, and keeps at most maxFree of them', () => {
    const pool = new PartBuffers(1024, 2)
    const taken = [pool.take(), pool.take(), pool.take()]
    expect(taken.every((b) => b.length === 1024)).toBe(true)
    expect(new Set(taken).size).toBe(3)
    for (const b of taken) pool.give(b)
    // Two kept (the cap), the third dropped: the next three takes reuse two and allocate one.
    const again = [pool.take(), pool.take(), pool.take()]
    expect(again.filter((b) => taken.includes(b))).toHaveLength(2)
    pool.give(again[0]!)
    pool.clear()
    expect(taken.includes(pool.take())).toBe(false)
  })
})
