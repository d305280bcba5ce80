/**
 * Lazy reading of RecordBatch v2 records sections (the bytes Rust wrote at produce time),
 * so delivery reports can give back key, value and headers without JS having kept them:
 * nothing is decoded until a field is read, and keys and values are views, not copies.
 */

/** A record header: Kafka allows duplicate keys and null values, so it is a list. */
export type Header = [key: string, value: Buffer | null]

/** Reads a zig-zag varint at `pos`; returns [value, next position]. Safe up to 2^53. */
function varint(buf: Buffer, pos: number): [number, number] {
  let n = 0
  let mul = 1
  for (;;) {
    if (pos >= buf.length) throw new RangeError('truncated record')
    const b = buf[pos++] as number
    n += (b & 0x7f) * mul
    if (b < 0x80) break
    mul *= 128
    if (mul > 2 ** 63) throw new RangeError('varint too long')
  }
  // zig-zag: even -> n/2, odd -> -(n+1)/2
  return [n % 2 === 0 ? n / 2 : -(n + 1) / 2, pos]
}

/** Field positions of one decoded record. */
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
  let pos = 0
  for (let i = 0; i < count; i++) {
    starts[i] = pos
    const [len, p] = varint(section, pos)
    pos = p + len
  }
  return starts
}

function bytes(section: Buffer, pos: number): [Buffer | null, number] {
  const [len, p] = varint(section, pos)
  if (len < 0) return [null, p]
  return [section.subarray(p, p + len), p + len]
}

/** Decodes the record starting at `start`. */
export function readRecord(section: Buffer, start: number): RecordView {
  let [, pos] = varint(section, start) // length
  pos += 1 // attributes
  let timestampDelta: number
  let offsetDelta: number
  ;[timestampDelta, pos] = varint(section, pos)
  ;[offsetDelta, pos] = varint(section, pos)
  let key: Buffer | null
  let value: Buffer | null
  ;[key, pos] = bytes(section, pos)
  ;[value, pos] = bytes(section, pos)
  let n: number
  ;[n, pos] = varint(section, pos)
  const headers: Header[] = []
  for (let i = 0; i < n; i++) {
    let k: Buffer | null
    let v: Buffer | null
    ;[k, pos] = bytes(section, pos)
    ;[v, pos] = bytes(section, pos)
    headers.push([k ? k.toString('utf8') : '', v])
  }
  return { timestampDelta, offsetDelta, key, value, headers }
}
