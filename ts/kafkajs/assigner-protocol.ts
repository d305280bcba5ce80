/**
 * KafkaJS's AssignerProtocol: the consumer protocol's subscription (MemberMetadata) and
 * assignment (MemberAssignment) encodings, version 0 fields, so code that decodes
 * `describeGroup()` members' `memberAssignment` keeps working.
 */
import { KafkaJSNonRetriableError } from './errors'
import { partitionsByTopic } from './group'

export interface MemberMetadata {
  version: number
  topics: string[]
  userData: Buffer
}

export interface MemberAssignment {
  version: number
  assignment: Record<string, number[]>
  userData: Buffer
}

class Writer {
  private parts: Buffer[] = []
  int16(v: number): this {
    const b = Buffer.alloc(2)
    b.writeInt16BE(v)
    this.parts.push(b)
    return this
  }
  int32(v: number): this {
    const b = Buffer.alloc(4)
    b.writeInt32BE(v)
    this.parts.push(b)
    return this
  }
  string(s: string): this {
    const bytes = Buffer.from(s)
    this.int16(bytes.length)
    this.parts.push(bytes)
    return this
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1)
    this.int32(b.length)
    this.parts.push(b)
    return this
  }
  done(): Buffer {
    return Buffer.concat(this.parts)
  }
}

class Reader {
  private at = 0
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new KafkaJSNonRetriableError('truncated consumer protocol data')
  }
  int16(): number {
    this.need(2)
    const v = this.buf.readInt16BE(this.at)
    this.at += 2
    return v
  }
  int32(): number {
    this.need(4)
    const v = this.buf.readInt32BE(this.at)
    this.at += 4
    return v
  }
  string(): string {
    const n = this.int16()
    this.need(n)
    const s = this.buf.toString('utf8', this.at, this.at + n)
    this.at += n
    return s
  }
  bytes(): Buffer {
    const n = this.int32()
    if (n < 0) return Buffer.alloc(0)
    this.need(n)
    const b = this.buf.subarray(this.at, this.at + n)
    this.at += n
    return b
  }
  array<T>(f: () => T): T[] {
    const n = this.int32()
    const out: T[] = []
    for (let i = 0; i < n; i++) out.push(f())
    return out
  }
  get left(): number {
    return this.buf.length - this.at
  }
}

export const AssignerProtocol = {
  MemberMetadata: {
    encode({ version, topics, userData }: MemberMetadata): Buffer {
      const w = new Writer().int16(version).int32(topics.length)
      for (const t of topics) w.string(t)
      return w.bytes(userData ?? Buffer.alloc(0)).done()
    },
    decode(buffer: Buffer): MemberMetadata | null {
      if (buffer.length === 0) return null
      const r = new Reader(buffer)
      const version = r.int16()
      const topics = r.array(() => r.string())
      return { version, topics, userData: r.left > 0 ? r.bytes() : Buffer.alloc(0) }
    },
  },
  MemberAssignment: {
    encode({ version, assignment, userData }: MemberAssignment): Buffer {
      const entries = Object.entries(assignment)
      const w = new Writer().int16(version).int32(entries.length)
      for (const [topic, partitions] of entries) {
        w.string(topic).int32(partitions.length)
        for (const p of partitions) w.int32(p)
      }
      return w.bytes(userData ?? Buffer.alloc(0)).done()
    },
    decode(buffer: Buffer): MemberAssignment | null {
      if (buffer.length === 0) return null
      const r = new Reader(buffer)
      const version = r.int16()
      const assignment: Record<string, number[]> = {}
      for (const [topic, partitions] of r.array(() => [r.string(), r.array(() => r.int32())] as const)) assignment[topic] = partitions
      return { version, assignment, userData: r.left > 0 ? r.bytes() : Buffer.alloc(0) }
    },
  },
}

/** @internal A member's assignment as describeGroup returns it. */
export function encodeMemberAssignment(tps: Array<{ topic: string; partition: number }>): Buffer {
  return AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: partitionsByTopic(tps), userData: Buffer.alloc(0) })
}

/** @internal A member's subscription as describeGroup returns it. */
export function encodeMemberMetadata(topics: string[]): Buffer {
  return AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) })
}
