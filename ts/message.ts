import { describe } from './config'
import { invalidArgument } from './errors'

/**
 * Records from Rust, read lazily. Polls and delivery reports hand JS the same shape (see
 * crates/node/src/rows.rs): one ArrayBuffer holding a Float64 index, 8 numbers per record
 * (offset, timestamp, key start, key length, value start, value length, headers start,
 * header count), then the records' bytes. Rust's one record reader built the index;
 * {@link RecordRows} is the one JS view of it: a record is a row number, and key, value
 * and headers are views into the bytes, made only when read.
 */

/** A record header: Kafka allows duplicate keys and null values, so it is a list. */
export type Header = [key: string, value: Buffer | null]

/** Numbers per record in the index. */
const F = 8

/** Turns raw bytes into a key or value. */
export type Deserializer<T> = (data: Buffer, topic: string) => T

/** Built-in deserializers. */
export const deserializers = {
  /** UTF-8 text. */
  string: ((data: Buffer) => data.toString('utf8')) as Deserializer<string>,
  /** JSON text (UTF-8). */
  json: ((data: Buffer) => JSON.parse(data.toString('utf8'))) as Deserializer<unknown>,
}

/** @internal The index and bytes of a poll or of a set of delivery reports. */
export class RecordRows {
  private readonly index: Float64Array
  private readonly data: Buffer
  constructor(buffer: ArrayBuffer, records: number) {
    this.index = new Float64Array(buffer, 0, records * F)
    this.data = Buffer.from(buffer, records * F * 8)
  }

  /** Offset; -1 when unknown (a failed or acks=0 delivery). */
  offset(row: number): number {
    return this.index[row * F] as number
  }

  /** ms since the epoch: CreateTime, or LogAppendTime when the topic uses it. */
  timestamp(row: number): number {
    return this.index[row * F + 1] as number
  }

  key(row: number): Buffer | null {
    return this.bytes(row * F + 2)
  }

  value(row: number): Buffer | null {
    return this.bytes(row * F + 4)
  }

  /** Headers in wire order (Rust checked every length when it built the index). */
  headers(row: number): Header[] {
    const count = this.index[row * F + 7] as number
    if (count === 0) return []
    const data = this.data
    let p = this.index[row * F + 6] as number
    const varint = (): number => {
      let n = 0
      let mul = 1
      for (;;) {
        const b = data[p++] as number
        n += (b & 0x7f) * mul
        if (b < 0x80) break
        mul *= 128
      }
      return n % 2 === 0 ? n / 2 : -(n + 1) / 2
    }
    const out: Header[] = []
    for (let i = 0; i < count; i++) {
      const klen = varint()
      const key = data.toString('utf8', p, p + klen)
      p += klen
      const vlen = varint()
      const value = vlen < 0 ? null : data.subarray(p, p + vlen)
      if (vlen > 0) p += vlen
      out.push([key, value])
    }
    return out
  }

  private bytes(at: number): Buffer | null {
    const len = this.index[at + 1] as number
    if (len < 0) return null
    const start = this.index[at] as number
    return this.data.subarray(start, start + len)
  }
}

/** @internal What the messages of one fetched batch share. */
export interface BatchInfo {
  topic: string
  partition: number
  leaderEpoch: number
  logAppendTime: boolean
}

/** A consumed record. Fields are decoded when first read. */
export class Message<K = Buffer | null, V = Buffer | null> {
  /** @internal */
  private readonly view: RecordRows
  /** @internal */
  private readonly row: number
  /** @internal */
  private readonly batch: BatchInfo
  /** @internal */
  private readonly keyDeserializer: Deserializer<unknown> | undefined
  /** @internal */
  private readonly valueDeserializer: Deserializer<unknown> | undefined

  /** @internal */
  constructor(view: RecordRows, row: number, batch: BatchInfo, kd?: Deserializer<unknown>, vd?: Deserializer<unknown>) {
    this.view = view
    this.row = row
    this.batch = batch
    this.keyDeserializer = kd
    this.valueDeserializer = vd
  }

  get topic(): string {
    return this.batch.topic
  }

  get partition(): number {
    return this.batch.partition
  }

  get offset(): bigint {
    return BigInt(this.view.offset(this.row))
  }

  /** The offset as a number (exact below 2^53), cheaper than `offset`. */
  get offsetNumber(): number {
    return this.view.offset(this.row)
  }

  /** ms since the epoch: CreateTime, or LogAppendTime when the topic uses it. */
  get timestamp(): number {
    return this.view.timestamp(this.row)
  }

  get timestampType(): 'CreateTime' | 'LogAppendTime' {
    return this.batch.logAppendTime ? 'LogAppendTime' : 'CreateTime'
  }

  /** Leader epoch the record was written in (KIP-320), -1 when unknown. */
  get leaderEpoch(): number {
    return this.batch.leaderEpoch
  }

  /** The raw key bytes (a view, not a copy). */
  get keyBytes(): Buffer | null {
    return this.view.key(this.row)
  }

  /** The raw value bytes (a view, not a copy); null for a tombstone. */
  get valueBytes(): Buffer | null {
    return this.view.value(this.row)
  }

  /** The key, through the key deserializer when one is set. */
  get key(): K {
    const raw = this.keyBytes
    return (raw !== null && this.keyDeserializer ? this.keyDeserializer(raw, this.topic) : raw) as K
  }

  /** The value, through the value deserializer when one is set. */
  get value(): V {
    const raw = this.valueBytes
    return (raw !== null && this.valueDeserializer ? this.valueDeserializer(raw, this.topic) : raw) as V
  }

  /** Headers in wire order; keys may repeat. */
  get headers(): Header[] {
    return this.view.headers(this.row)
  }

  toJSON(): object {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.offset.toString(),
      timestamp: this.timestamp,
      key: this.keyBytes?.toString('base64') ?? null,
      value: this.valueBytes?.toString('base64') ?? null,
    }
  }
}

/** A consumer's key/value deserializer option: a built-in name or a function. */
export function resolveDeserializer<T>(d: 'string' | 'json' | Deserializer<T> | undefined, key: string): Deserializer<unknown> | undefined {
  if (d === undefined) return undefined
  if (d === 'string' || d === 'json') return deserializers[d as 'string' | 'json']
  if (typeof d === 'function') return d as Deserializer<unknown>
  throw invalidArgument(`${key} must be 'string', 'json' or a function, got ${describe(d)}`)
}
