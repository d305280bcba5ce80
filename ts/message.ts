/**
 * Messages of a poll, built lazily: one poll gives one ArrayBuffer holding a Float64 index
 * (8 numbers per record) and the records' bytes; a message object is a row number into it,
 * and key, value and headers are views into the bytes, made only when read.
 */
import type { Header } from './records'

/** Numbers per record in the index (see crates/node/src/consumer.rs). */
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

/** @internal One poll's index and bytes. */
export class PollView {
  readonly index: Float64Array
  readonly data: Buffer
  constructor(buffer: ArrayBuffer, records: number) {
    this.index = new Float64Array(buffer, 0, records * F)
    this.data = Buffer.from(buffer, records * F * 8)
  }
}

/** @internal What the messages of one fetched batch share. */
export interface BatchInfo {
  topic: string
  partition: number
  leaderEpoch: number
  logAppendTime: boolean
}

function bytesAt(view: PollView, start: number, len: number): Buffer | null {
  return len < 0 ? null : view.data.subarray(start, start + len)
}

/** Reads `count` headers starting at `pos` (varint-prefixed key and value each). */
function readHeaders(data: Buffer, pos: number, count: number): Header[] {
  const out: Header[] = []
  let p = pos
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

/** A consumed record. Fields are decoded when first read. */
export class Message<K = Buffer | null, V = Buffer | null> {
  /** @internal */
  private readonly view: PollView
  /** @internal */
  private readonly row: number
  /** @internal */
  private readonly batch: BatchInfo
  /** @internal */
  private readonly keyDeserializer: Deserializer<unknown> | undefined
  /** @internal */
  private readonly valueDeserializer: Deserializer<unknown> | undefined

  /** @internal */
  constructor(view: PollView, row: number, batch: BatchInfo, kd?: Deserializer<unknown>, vd?: Deserializer<unknown>) {
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
    return BigInt(this.view.index[this.row * F] as number)
  }

  /** The offset as a number (exact below 2^53), cheaper than `offset`. */
  get offsetNumber(): number {
    return this.view.index[this.row * F] as number
  }

  /** ms since the epoch: CreateTime, or LogAppendTime when the topic uses it. */
  get timestamp(): number {
    return this.view.index[this.row * F + 1] as number
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
    const i = this.row * F
    return bytesAt(this.view, this.view.index[i + 2] as number, this.view.index[i + 3] as number)
  }

  /** The raw value bytes (a view, not a copy); null for a tombstone. */
  get valueBytes(): Buffer | null {
    const i = this.row * F
    return bytesAt(this.view, this.view.index[i + 4] as number, this.view.index[i + 5] as number)
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
    const i = this.row * F
    const count = this.view.index[i + 7] as number
    return count === 0 ? [] : readHeaders(this.view.data, this.view.index[i + 6] as number, count)
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
