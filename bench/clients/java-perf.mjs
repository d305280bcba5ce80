// The Java client's own perf tools from kafka-tools (same version as the broker), run as the
// measured process itself (the JVM is what /usr/bin/time sees). JVM flags are those of
// kafka-producer-perf-test.sh / kafka-run-class.sh: -Xmx512M and the G1 settings below.
//
// java-perf      ProducerPerformance / ConsumerPerformance with the Java client's defaults
// java-ceiling   (./java-ceiling.mjs) ProducerPerformance with large batches: the broker's ceiling

import path from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

export const JVM_ARGS = [
  '-Xmx512M',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
  `-Dlog4j2.configurationFile=${path.join(REPO, 'scripts', 'kafka', 'tools-log4j2.properties')}`,
]

const PP = 'org.apache.kafka.tools.ProducerPerformance'
const CP = 'org.apache.kafka.tools.ConsumerPerformance'

/** Producer properties per workload, exactly as passed with --command-property. */
export function producerProps(spec, { ceiling = false } = {}) {
  if (ceiling) return { acks: '1', 'batch.size': '1048576', 'linger.ms': '50' }
  if (spec.workload === 'P2') return { acks: 'all', 'enable.idempotence': 'true', 'compression.type': 'lz4' }
  return { acks: String(spec.acks) }
}

const PRODUCE_API = `${PP} --record-size 100 --throughput -1 (records: null key, value of 100 random uppercase letters)`
const JAVA_DEFAULTS = 'Java client defaults otherwise: batch.size 16384, linger.ms 5, buffer.memory 32 MiB, max.in.flight 5'

export const meta = {
  id: 'java-perf',
  label: 'Java ProducerPerformance / ConsumerPerformance',
  package: null,
  runtime: 'java',
  external: true,
  workloads: {
    P1: { api: PRODUCE_API, config: `acks=1; ${JAVA_DEFAULTS}` },
    'P1-6': { api: PRODUCE_API, config: `acks=1; ${JAVA_DEFAULTS}` },
    P2: {
      api: `${PRODUCE_API}; NO KEYS: the tool has no key option, so records are spread by the sticky partitioner, not murmur2`,
      config: `acks=all enable.idempotence=true compression.type=lz4; ${JAVA_DEFAULTS}`,
    },
    C2: {
      api: `${CP} --num-records N --group <fresh> --timeout 60000 (subscribe; the tool always joins a group)`,
      config:
        'tool defaults: auto.offset.reset=earliest, check.crcs=false, max.partition.fetch.bytes 1048576, receive.buffer.bytes 2 MiB; enable.auto.commit default (true)',
    },
    'C2-6': { api: `${CP} as C2`, config: 'as C2' },
  },
  unsupported: {
    P3: 'n/a (the perf tool has no await-each-send mode)',
    C1: 'n/a (ConsumerPerformance always joins a group; see C2)',
    'C1-6': 'n/a (ConsumerPerformance always joins a group; see C2-6)',
    E2E: 'n/a (no fixed-rate end-to-end tool)',
  },
}

function props(obj) {
  return Object.entries(obj).map(([k, v]) => `${k}=${v}`)
}

export function producerCommand(spec, ctx, options) {
  return {
    cmd: ctx.java,
    args: [
      ...JVM_ARGS,
      '-cp',
      ctx.toolsClasspath,
      PP,
      '--bootstrap-server',
      spec.bootstrap,
      '--topic',
      spec.topic,
      '--num-records',
      String(spec.n),
      '--record-size',
      String(spec.valueSize),
      '--throughput',
      '-1',
      '--reporting-interval',
      '5000',
      '--command-property',
      ...props({ 'client.id': `bench-${spec.client}`, ...producerProps(spec, options) }),
    ],
    parse: (stdout) => parseProducer(stdout, spec),
  }
}

/** "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency, p50 ms 50th, ..." */
export function parseProducer(stdout, spec) {
  const lines = stdout.trim().split('\n')
  const last = lines.findLast((l) => / records sent, /.test(l) && /50th/.test(l))
  if (!last) throw new Error(`no final ProducerPerformance line in: ${stdout.slice(-500)}`)
  const m =
    /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th/.exec(
      last,
    )
  if (!m) throw new Error(`unparsed ProducerPerformance line: ${last}`)
  const n = Number(m[1])
  const rate = Number(m[2])
  return {
    n,
    elapsedMs: Math.round((n / rate) * 1e6) / 1e3,
    msgsPerSec: Math.round(rate),
    mbPerSec: Math.round(((rate * spec.valueSize) / 1e6) * 100) / 100,
    cpuWindow: null,
    cpuNsPerMsg: null,
    // Send-to-ack latency of each record (the tool's own figure), not comparable to P3.
    toolLatencyMs: { avg: Number(m[4]), max: Number(m[5]), p50: Number(m[6]), p95: Number(m[7]), p99: Number(m[8]), p999: Number(m[9]) },
    toolLine: last,
  }
}

function consumerCommand(spec, ctx) {
  return {
    cmd: ctx.java,
    args: [
      ...JVM_ARGS,
      '-cp',
      ctx.toolsClasspath,
      CP,
      '--bootstrap-server',
      spec.bootstrap,
      '--topic',
      spec.topic,
      '--num-records',
      String(spec.n),
      '--group',
      spec.groupId,
      '--timeout',
      '60000',
      '--hide-header',
      '--command-property',
      `client.id=bench-${spec.client}`,
    ],
    parse: (stdout) => parseConsumer(stdout, spec),
  }
}

/** "start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec" */
export function parseConsumer(stdout, spec) {
  const last = stdout
    .trim()
    .split('\n')
    .findLast((l) => l.split(', ').length >= 10)
  if (!last) throw new Error(`no ConsumerPerformance line in: ${stdout.slice(-500)}`)
  const f = last.split(', ')
  const n = Number(f[4])
  const rate = Number(f[5])
  if (!(n > 0) || !(rate > 0)) throw new Error(`ConsumerPerformance consumed nothing: ${last}`)
  return {
    n,
    elapsedMs: Math.round((n / rate) * 1e6) / 1e3,
    msgsPerSec: Math.round(rate),
    mbPerSec: Math.round(((rate * spec.valueSize) / 1e6) * 100) / 100,
    cpuWindow: null,
    cpuNsPerMsg: null,
    joinMs: Number(f[6]),
    fetchOnlyMsgsPerSec: Math.round(Number(f[9])),
    toolLine: last,
  }
}

export function command(spec, ctx) {
  return spec.kind === 'consume' ? consumerCommand(spec, ctx) : producerCommand(spec, ctx)
}
