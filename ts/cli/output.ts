/**
 * Output helpers: colors and the progress bar (only on a TTY, never with NO_COLOR), plain
 * tables, a buffered binary-safe stdout writer, and kcat-style format strings.
 */
import type { KafkaError, Message } from '../index'
import { UsageError } from './args'

type Stream = NodeJS.WriteStream

/** Colors only for a terminal, and never with NO_COLOR set (https://no-color.org). */
export function colorsFor(stream: Stream): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
}

export interface Paint {
  bold(s: string): string
  dim(s: string): string
  red(s: string): string
  green(s: string): string
  yellow(s: string): string
}

export function paint(stream: Stream): Paint {
  const on = colorsFor(stream)
  const wrap = (code: number) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s)
  return { bold: wrap(1), dim: wrap(2), red: wrap(31), green: wrap(32), yellow: wrap(33) }
}

/** Rows under a header, columns padded to their widest cell; the header bold on a TTY. */
export function table(header: string[], rows: Array<Array<string | number | bigint>>, stream: Stream = process.stdout): string {
  const cells = rows.map((r) => r.map((c) => String(c)))
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd()
  const p = paint(stream)
  return `${[p.bold(line(header)), ...cells.map(line)].join('\n')}\n`
}

/** A progress bar redrawn in place at most every 100 ms, on a TTY only (else nothing). */
export class Progress {
  private last = 0
  private readonly on: boolean

  constructor(
    private readonly stream: Stream,
    private readonly total: number,
    private readonly label: string,
  ) {
    this.on = stream.isTTY === true
  }

  update(done: number, extra = ''): void {
    if (!this.on) return
    const now = Date.now()
    if (now - this.last < 100 && done < this.total) return
    this.last = now
    const width = 30
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1
    const full = Math.round(frac * width)
    const bar = `${'#'.repeat(full)}${'-'.repeat(width - full)}`
    this.stream.write(`\r${this.label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${this.total} ${extra}\x1b[K`)
  }

  done(): void {
    if (this.on) this.stream.write('\r\x1b[K')
  }
}

/**
 * stdout for many small binary pieces: gathered and written once per turn of the event
 * loop (or per 64 KiB), with the stream's backpressure exposed through `drained()`.
 */
export class Writer {
  private parts: Buffer[] = []
  private size = 0
  private scheduled = false
  private blocked = false
  /** Set when the reader went away (EPIPE, e.g. `| head`): the caller stops. */
  closed = false
  private readonly waiters: Array<() => void> = []

  /** `onClosed` runs once when the reader goes away (a consumer stops then, even while idle). */
  constructor(
    private readonly stream: NodeJS.WritableStream = process.stdout,
    onClosed: () => void = () => {},
  ) {
    const wake = () => {
      this.blocked = false
      for (const w of this.waiters.splice(0)) w()
    }
    stream.on('drain', wake)
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e
      if (this.closed) return
      this.closed = true
      wake()
      onClosed()
    })
  }

  write(b: Buffer): void {
    this.parts.push(b)
    this.size += b.length
    if (this.size >= 65536) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  flush(): void {
    this.scheduled = false
    if (this.parts.length === 0 || this.closed) return
    const b = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size)
    this.parts = []
    this.size = 0
    if (!this.stream.write(b)) this.blocked = true
  }

  /** Resolves once the stream took what it was given (at once unless it pushed back). */
  async drained(): Promise<void> {
    if (!this.blocked || this.closed) return
    await new Promise<void>((r) => this.waiters.push(r))
  }

  /** Everything written so far is handed to the OS. */
  async end(): Promise<void> {
    this.flush()
    if (this.closed) return
    // The callback runs once the data is out, or with the error (EPIPE) if it cannot be.
    await new Promise<void>((r) => this.stream.write('', () => r()))
  }
}

/** `\n`, `\t`, `\r`, `\0` and `\\` in a user's text into the characters. */
export function unescapeText(s: string): string {
  return s.replace(/\\([ntr0\\])/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\' })[c] as string)
}

type Piece = (m: Message) => Buffer

const EMPTY = Buffer.alloc(0)

/**
 * A kcat-style format string into a function from a message to its bytes:
 * %t topic, %p partition, %o offset, %k key, %s value, %h headers (k=v,...), %T timestamp
 * (ms), %K / %S key / value length (-1 for null), %% a percent sign; \n \t \r \0 \\ escapes.
 * Key and value bytes are written as they are (binary-safe).
 */
export function compileFormat(format: string): (m: Message) => Buffer {
  const pieces: Piece[] = []
  const text = unescapeText(format)
  let literal = ''
  const pushLiteral = () => {
    if (literal === '') return
    const b = Buffer.from(literal)
    pieces.push(() => b)
    literal = ''
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (c !== '%') {
      literal += c
      continue
    }
    const d = text[++i]
    if (d === '%') {
      literal += '%'
      continue
    }
    pushLiteral()
    switch (d) {
      case 't':
        pieces.push((m) => Buffer.from(m.topic))
        break
      case 'p':
        pieces.push((m) => Buffer.from(String(m.partition)))
        break
      case 'o':
        pieces.push((m) => Buffer.from(String(m.offsetNumber)))
        break
      case 'k':
        pieces.push((m) => m.keyBytes ?? EMPTY)
        break
      case 's':
        pieces.push((m) => m.valueBytes ?? EMPTY)
        break
      case 'K':
        pieces.push((m) => Buffer.from(String(m.keyBytes?.length ?? -1)))
        break
      case 'S':
        pieces.push((m) => Buffer.from(String(m.valueBytes?.length ?? -1)))
        break
      case 'T':
        pieces.push((m) => Buffer.from(String(m.timestamp)))
        break
      case 'h':
        pieces.push((m) => Buffer.from(m.headers.map(([k, v]) => `${k}=${v === null ? '' : v.toString('utf8')}`).join(',')))
        break
      default:
        throw new UsageError(`consume: -f: unknown format token %${d ?? ''} (known: %t %p %o %k %s %h %T %K %S %%)`)
    }
  }
  pushLiteral()
  return (m) => (pieces.length === 1 ? (pieces[0] as Piece)(m) : Buffer.concat(pieces.map((p) => p(m))))
}

/** One JSON line per message; key, value and header values as UTF-8 text, or base64. */
export function jsonLine(base64: boolean): (m: Message) => Buffer {
  const enc = (b: Buffer | null) => (b === null ? null : b.toString(base64 ? 'base64' : 'utf8'))
  return (m) =>
    Buffer.from(
      `${JSON.stringify({
        topic: m.topic,
        partition: m.partition,
        offset: m.offsetNumber,
        timestamp: m.timestamp,
        key: enc(m.keyBytes),
        value: enc(m.valueBytes),
        headers: m.headers.map(([key, value]) => ({ key, value: enc(value) })),
      })}\n`,
    )
}

/** JSON for stdout: bigints as numbers when exact, else strings; errors as { code, message }. */
export function toJson(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) => {
      if (typeof x === 'bigint')
        return x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : String(x)
      if (x instanceof Error) return { code: (x as { code?: string }).code, message: x.message }
      return x
    },
    2,
  )
}

/** `CODE: message` on one line, without the code twice when the message starts with it. */
export function errorLine(e: KafkaError): string {
  const line = e.message.split('\n')[0] ?? ''
  return line.includes(e.code) ? line : `${e.code}: ${line}`
}
