/** `nkafka produce`: records from stdin or a file, one per line (or per --delimiter). */
import { createReadStream } from 'node:fs'
import { type DeliveryReport, KafkaError, Producer, type ProducerConfig } from '../index'
import { COMMON_HELP, clientConfig, int, keyValue, list, makeClient, parse, required, str, UsageError } from './args'
import { errorLine, paint, unescapeText } from './output'

export const PRODUCE_HELP = `Usage: nkafka produce -t TOPIC [options] [--file F]

Reads records from stdin (or --file), one per line, and produces them. Prints a summary
on stderr; exits 0 only when every record was delivered.

  -t, --topic TOPIC         topic to produce to (required)
  -p, --partition N         partition (default: the partitioner; murmur2 on the key)
  -K, --key-delimiter D     split each record at the first D into key and value
  -D, --delimiter D         record delimiter (default \\n; escapes \\n \\t \\r \\0 understood)
  -H, --headers k=v,...     headers added to every record, repeatable
  -z, --compression CODEC   none, gzip, snappy, lz4 or zstd
      --acks ACKS           0, 1 or all (default all)
      --file F              read records from F instead of stdin

${COMMON_HELP}`

const OPTIONS = {
  topic: { type: 'string', short: 't' },
  partition: { type: 'string', short: 'p' },
  'key-delimiter': { type: 'string', short: 'K' },
  delimiter: { type: 'string', short: 'D' },
  headers: { type: 'string', short: 'H', multiple: true },
  compression: { type: 'string', short: 'z' },
  acks: { type: 'string' },
  file: { type: 'string' },
} as const

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

/** Splits a byte stream at `delimiter`; a final piece after the last delimiter counts only if not empty. */
export async function* records(input: AsyncIterable<Buffer>, delimiter: Buffer): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0)
  for await (const chunk of input) {
    let buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk])
    let i = buf.indexOf(delimiter)
    while (i >= 0) {
      yield buf.subarray(0, i)
      buf = buf.subarray(i + delimiter.length)
      i = buf.indexOf(delimiter)
    }
    // Copied: the chunk's memory must not be kept alive by a small tail.
    rest = Buffer.from(buf)
  }
  if (rest.length > 0) yield rest
}

export function acksOf(v: string | undefined, command: string): 0 | 1 | 'all' | undefined {
  if (v === undefined) return undefined
  if (v === '0' || v === '1') return Number(v) as 0 | 1
  if (v === 'all' || v === '-1') return 'all'
  throw new UsageError(`${command}: --acks expects 0, 1 or all, got ${JSON.stringify(v)}`)
}

export function codecOf(v: string | undefined, command: string): ProducerConfig['compressionType'] {
  if (v === undefined) return undefined
  if (!CODECS.includes(v)) throw new UsageError(`${command}: -z/--compression expects ${CODECS.join(', ')}, got ${JSON.stringify(v)}`)
  return v as ProducerConfig['compressionType']
}

export async function produce(argv: string[]): Promise<number> {
  const cmd = 'produce'
  const p = parse(argv, OPTIONS, cmd)
  if (p.values.help) {
    process.stdout.write(PRODUCE_HELP)
    return 0
  }
  if (p.positionals.length > 0)
    throw new UsageError(`${cmd}: unexpected argument ${JSON.stringify(p.positionals[0])} (records come from stdin or --file)`)
  const topic = required(p, 'topic', cmd, 't')
  const partition = int(p, 'partition', cmd, 0, 2 ** 31 - 1)
  const keyDelimiter = str(p, 'key-delimiter')
  if (keyDelimiter === '') throw new UsageError(`${cmd}: -K/--key-delimiter is empty`)
  const delimiter = Buffer.from(unescapeText(str(p, 'delimiter') ?? '\n'))
  if (delimiter.length === 0) throw new UsageError(`${cmd}: -D/--delimiter is empty`)
  const headers: Array<[string, string]> = []
  for (const h of list(p, 'headers')) for (const kv of h.split(',')) headers.push(keyValue(kv, '-H/--headers', cmd))
  const config = clientConfig(p, 'producer', cmd) as unknown as ProducerConfig
  const acks = acksOf(str(p, 'acks'), cmd)
  if (acks !== undefined) config.acks = acks
  const codec = codecOf(str(p, 'compression'), cmd)
  if (codec !== undefined) config.compressionType = codec
  const file = str(p, 'file')
  const input: AsyncIterable<Buffer> = file !== undefined ? createReadStream(file) : process.stdin
  const keyDelim = keyDelimiter === undefined ? undefined : Buffer.from(unescapeText(keyDelimiter))

  let delivered = 0
  const failures = new Map<string, number>()
  const onDelivery = (r: DeliveryReport) => {
    if (r.error === null) delivered++
    else {
      const k = errorLine(r.error)
      failures.set(k, (failures.get(k) ?? 0) + 1)
    }
  }
  const producer = makeClient(() => new Producer(config, onDelivery))
  const started = Date.now()
  let sent = 0
  let bytes = 0
  try {
    // Fails fast (maxBlockMs) with the broker's reason when the topic does not exist.
    await producer.connect([topic])
    const options =
      partition !== undefined || headers.length > 0 ? { partition, headers: headers.length > 0 ? headers : undefined } : undefined
    for await (const rec of records(input, delimiter)) {
      let key: Buffer | null = null
      let value = rec
      if (keyDelim !== undefined) {
        const i = rec.indexOf(keyDelim)
        if (i >= 0) {
          key = rec.subarray(0, i)
          value = rec.subarray(i + keyDelim.length)
        }
      }
      for (;;) {
        try {
          producer.produce(topic, key, value, options)
          break
        } catch (e) {
          if (!(e instanceof KafkaError) || e.code !== 'BUFFER_FULL') throw e
          await producer.waitForSpace()
        }
      }
      sent++
      bytes += rec.length
    }
    await producer.flush(config.deliveryTimeoutMs ?? 120_000)
  } catch (e) {
    // Before any record was handed over (no topic, bad input file, unreachable cluster):
    // the error alone. After: the summary below, with this error as one more line.
    if (sent === 0) throw e
    failures.set(e instanceof KafkaError ? errorLine(e) : String(e), 0)
  } finally {
    // close() after a flush has nothing left to deliver; an error here is still reported.
    await producer.close().catch((e: unknown) => {
      const err = e instanceof KafkaError ? errorLine(e) : String(e)
      failures.set(`closing the producer: ${err}`, 0)
    })
  }
  const c = paint(process.stderr)
  const secs = ((Date.now() - started) / 1000).toFixed(2)
  const failed = sent - delivered
  process.stderr.write(`${cmd}: ${delivered} of ${sent} records (${bytes} bytes) delivered to ${topic} in ${secs} s\n`)
  if (failed > 0 || failures.size > 0) {
    for (const [k, n] of failures) process.stderr.write(c.red(`${cmd}: ${n > 0 ? `${n} failed: ` : ''}${k}\n`))
    const reported = [...failures.values()].reduce((a, b) => a + b, 0)
    if (failed > reported) process.stderr.write(c.red(`${cmd}: ${failed - reported} records got no delivery report\n`))
    return 1
  }
  return 0
}
