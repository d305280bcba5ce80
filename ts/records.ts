/**
 * Lazy reading of RecordBatch v2 records sections (the bytes Rust wrote at produce time),
 * so delivery reports can give back key, value and headers without JS having kept them:
 * nothing is decoded until a field is read, and keys and values are views, not copies.
 */

/** A record header: Kafka allows duplicate keys and null values, so it is a list. */
export type Header = [key: string, value: Buffer | null]

/** A cursor over a records section. */
class Cursor {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
  ) {}

  /** A zig-zag varint (Kafka's record-level integers); exact up to 2^53. */
  varint(): number {
    let n = 0
    let mul = 1
    for (;;) {
      if (this.pos >= this.buf.length) throw new RangeError('truncated record')
      const b = this.buf[this.pos++] as number
      n += (b & 0x7f) * mul
      if (b < 0x80) break
      mul *= 128
      if (mul > 2 ** 63) throw new RangeError('varint too long')
    }
    // zig-zag: even -> n/2, odd -> -(n+1)/2
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2
  }

  /** Varint-length-prefixed bytes; length -1 is null. A view, not a copy. */
  bytes(): Buffer | null {
    const len = this.varint()
    if (len < 0) return null
    const start = this.pos
    this.pos += len
    if (this.pos > this.buf.length) throw new RangeError('truncated record')
    return this.buf.subarray(start, this.pos)
  }
}

/** Field values of one decoded record. */
export interface RecordView {
  timestampDelta: number
  offsetDelta: number
  key: Buffer | null
  value: Buffer | null
  headers: Header[]
}

/** Start positions of each record in a records section. */
export function recordStarts(section: Buffer, count: number): Int32Array {
  const starts = new Int32Array(count)
  const c = new Cursor(section, 0)
  for (let i = 0; i < count; i++) {
    starts[i] = c.pos
    const len = c.varint()
    c.pos += len
  }
  return starts
}

/** Decodes the record starting at `start`. */
export function readRecord(section: Buffer, start: number): RecordView {
  const c = new Cursor(section, start)
  c.varint() // length
  c.pos += 1 // attributes
  const timestampDelta = c.varint()
  const offsetDelta = c.varint()
  const key = c.bytes()
  const value = c.bytes()
  const n = c.varint()
  const headers: Header[] = []
  for (let i = 0; i < n; i++) {
    const k = c.bytes()
    headers.push([k ? k.toString('utf8') : '', c.bytes()])
  }
  return { timestampDelta, offsetDelta, key, value, headers }
}
