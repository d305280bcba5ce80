/**
 * `nkafka bench [produce]` and `nkafka bench consume`: the seed's P1 workload (bench/README.md:
 * N x 100 random bytes, null key, acks=1, no compression, one partition, produce() with
 * onDelivery, waitForSpace() on BUFFER_FULL) and the C1 read (assign from the earliest
 * offset, batches()) against any cluster, with a progress bar on a TTY and a summary table.
 */
import { randomBytes } from 'node:crypto'
import { Admin, type ClientConfig, Consumer, type DeliveryReport, KafkaError, Producer, type ProducerConfig, throwIfFailed } from '../index'
import { COMMON_HELP, clientConfig, flag, int, makeClient, noExtra, type Parsed, parse, str, UsageError } from './args'
import { errorLine, Progress, table } from './output'
import { acksOf, codecOf } from './produce'

export const BENCH_HELP = `Usage: nkafka bench [produce] [options]
       nkafka bench consume [options]

produce: N records of SIZE random bytes, null key (the seed's P1 workload: acks=1, no
compression, one partition), then msgs/s, MB/s and delivery latency (produce() call to
report, from the records' CreateTime in ms) p50/p99/max.
consume: reads N records from the earliest offsets of every partition (without -t: a new
topic is filled with N records first), then msgs/s and MB/s.

  -t, --topic TOPIC         topic (default: a new nkafka-bench-* topic, deleted after)
  -n, --count N             records (default 1000000)
  -s, --size BYTES          value size for produce (default 100)
  -p, --partitions N        partitions of the new topic (default 1)
      --acks ACKS           0, 1 or all (default 1)
  -z, --compression CODEC   none, gzip, snappy, lz4 or zstd (default none)
      --rate N              produce N records/s instead of as fast as possible: the
                            latency is then a round trip, not queueing behind a burst
      --keep                keep the new topic

${COMMON_HELP}`

const OPTIONS = {
  topic: { type: 'string', short: 't' },
  count: { type: 'string', short: 'n' },
  size: { type: 'string', short: 's' },
  partitions: { type: 'string', short: 'p' },
  acks: { type: 'string' },
  compression: { type: 'string', short: 'z' },
  keep: { type: 'boolean' },
  rate: { type: 'string' },
} as const

/** Latencies in whole ms, counted per ms (reports carry ms timestamps); the last slot is "more". */
class Histogram {
  private readonly counts = new Uint32Array(120_001)
  private n = 0
  max = 0

  add(ms: number): void {
    const v = Math.max(0, Math.min(this.counts.length - 1, Math.round(ms)))
    this.counts[v] = (this.counts[v] as number) + 1
    this.n++
    if (ms > this.max) this.max = ms
  }

  quantile(q: number): number {
    if (this.n === 0) return Number.NaN
    const target = Math.ceil(q * this.n)
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number
      if (seen >= target) return i
    }
    return this.counts.length - 1
  }
}

interface Run {
  topic: string
  created: boolean
}

async function prepareTopic(admin: Admin, p: Parsed, cmd: string): Promise<Run> {
  const given = str(p, 'topic')
  if (given !== undefined) {
    if (str(p, 'partitions') !== undefined) throw new UsageError(`${cmd}: -p/--partitions is for the new topic; not with -t`)
    return { topic: given, created: false }
  }
  const topic = `nkafka-bench-${Date.now()}-${randomBytes(3).toString('hex')}`
  throwIfFailed(await admin.createTopics([{ topic, numPartitions: int(p, 'partitions', cmd, 1) ?? 1 }]))
  return { topic, created: true }
}

interface ProduceResult {
  delivered: number
  failed: number
  errors: Map<string, number>
  seconds: number
  latency: Histogram
}

async function produceN(
  config: ProducerConfig,
  topic: string,
  n: number,
  size: number,
  rate: number | undefined,
  progress: Progress | null,
): Promise<ProduceResult> {
  const values = Array.from({ length: 1024 }, () => randomBytes(size))
  const latency = new Histogram()
  const errors = new Map<string, number>()
  let delivered = 0
  let failed = 0
  const onDelivery = (r: DeliveryReport) => {
    if (r.error === null) {
      delivered++
      latency.add(Date.now() - r.timestamp)
    } else {
      failed++
      const k = errorLine(r.error)
      errors.set(k, (errors.get(k) ?? 0) + 1)
    }
    progress?.update(delivered + failed, `${failed > 0 ? `${failed} failed` : ''}`)
  }
  const producer = makeClient(() => new Producer(config, onDelivery))
  try {
    await producer.connect([topic])
    const t0 = performance.now()
    // With a rate, records are handed over in 5 ms slices up to what is due by now, so
    // the latency is a round trip, not time queued behind a burst.
    let due = rate === undefined ? n : 0
    for (let i = 0; i < n; i++) {
      while (i >= due) {
        await new Promise((r) => setTimeout(r, 5))
        due = Math.min(n, Math.floor(((performance.now() - t0) / 1000) * (rate as number)))
      }
      try {
        producer.produce(topic, null, values[i & 1023])
      } catch (e) {
        if (!(e instanceof KafkaError) || e.code !== 'BUFFER_FULL') throw e
        await producer.waitForSpace()
        i--
      }
    }
    await producer.flush(config.deliveryTimeoutMs ?? 300_000)
    const seconds = (performance.now() - t0) / 1000
    progress?.done()
    return { delivered, failed, errors, seconds, latency }
  } finally {
    await producer.close()
  }
}

const fmt = (x: number, digits = 0) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-'

export async function bench(argv: string[]): Promise<number> {
  const mode = argv[0] === 'consume' || argv[0] === 'produce' ? argv[0] : 'produce'
  const cmd = `bench ${mode}`
  const p = parse(argv[0] === mode ? argv.slice(1) : argv, OPTIONS, cmd)
  if (p.values.help) {
    process.stdout.write(BENCH_HELP)
    return 0
  }
  noExtra(p, 0, cmd)
  const n = int(p, 'count', cmd, 1) ?? 1_000_000
  const size = int(p, 'size', cmd, 0, 100 * 1024 * 1024) ?? 100
  const rate = int(p, 'rate', cmd, 1)
  if (rate !== undefined && mode === 'consume') throw new UsageError(`${cmd}: --rate is for bench produce`)
  const config = clientConfig(p, 'producer', cmd) as unknown as ProducerConfig
  config.acks = acksOf(str(p, 'acks'), cmd) ?? 1
  const codec = codecOf(str(p, 'compression'), cmd)
  if (codec !== undefined) config.compressionType = codec
  const { bootstrapServers, clientId, ssl, sasl } = config
  const base: ClientConfig = { bootstrapServers, clientId, ssl, sasl }
  const admin = makeClient(() => new Admin(base))
  let run: Run | undefined
  try {
    run = await prepareTopic(admin, p, cmd)
    if (mode === 'produce') {
      const r = await produceN(config, run.topic, n, size, rate, new Progress(process.stderr, n, 'produce'))
      const rows: Array<[string, string]> = [
        ['topic', run.topic],
        ['records', fmt(r.delivered)],
        ['record size (bytes)', fmt(size)],
        ['seconds', fmt(r.seconds, 2)],
        ['msgs/s', fmt(r.delivered / r.seconds)],
        ['MB/s', fmt((r.delivered * size) / r.seconds / 1e6, 1)],
        ['latency p50 (ms)', fmt(r.latency.quantile(0.5))],
        ['latency p99 (ms)', fmt(r.latency.quantile(0.99))],
        ['latency max (ms)', fmt(r.latency.max)],
        ['failed', fmt(r.failed)],
      ]
      process.stdout.write(table(['produce', 'value'], rows))
      for (const [k, c] of r.errors) process.stderr.write(`${cmd}: ${c} failed: ${k}\n`)
      return r.failed > 0 ? 1 : 0
    }
    // consume: fill a new topic first
    if (run.created) {
      const filled = await produceN(config, run.topic, n, size, undefined, new Progress(process.stderr, n, 'filling'))
      if (filled.failed > 0)
        throw new KafkaError(`filling ${run.topic} failed: ${[...filled.errors.keys()][0]}`, { code: 'BENCH_FILL_FAILED' })
    }
    const [described] = throwIfFailed(await admin.describeTopics([run.topic]))
    const parts = (described?.partitions ?? []).map((x) => x.partition)
    const lo = throwIfFailed(
      await admin.listOffsets(parts.map((partition) => ({ topic: run?.topic as string, partition, spec: 'earliest' as const }))),
    )
    const hi = throwIfFailed(
      await admin.listOffsets(parts.map((partition) => ({ topic: run?.topic as string, partition, spec: 'latest' as const }))),
    )
    const available = hi.reduce((a, h, i) => a + Number(h.offset - (lo[i] as { offset: bigint }).offset), 0)
    if (available === 0) throw new UsageError(`${cmd}: topic ${run.topic} has no records to read`)
    const target = Math.min(n, available)
    const consumerConfig = clientConfig(p, 'consumer', cmd) as unknown as ClientConfig
    const consumer = makeClient(() => new Consumer(consumerConfig))
    const progress = new Progress(process.stderr, target, 'consume')
    let got = 0
    let bytes = 0
    let seconds: number
    try {
      consumer.assign(
        parts.map((partition, i) => ({ topic: run?.topic as string, partition, offset: (lo[i] as { offset: bigint }).offset })),
      )
      const t0 = performance.now()
      for await (const b of consumer.batches()) {
        for (const m of b.messages) bytes += m.valueBytes?.length ?? 0
        got += b.messages.length
        progress.update(Math.min(got, target))
        if (got >= target) break
      }
      seconds = (performance.now() - t0) / 1000
      progress.done()
    } finally {
      await consumer.close()
    }
    const rows: Array<[string, string]> = [
      ['topic', run.topic],
      ['records', fmt(got)],
      ['seconds', fmt(seconds, 2)],
      ['msgs/s', fmt(got / seconds)],
      ['MB/s', fmt(bytes / seconds / 1e6, 1)],
    ]
    process.stdout.write(table(['consume', 'value'], rows))
    return 0
  } finally {
    try {
      if (run?.created && !flag(p, 'keep')) throwIfFailed(await admin.deleteTopics([run.topic]))
    } finally {
      await admin.close()
    }
  }
}
