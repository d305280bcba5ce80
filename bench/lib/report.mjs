// From results/<tag>-<workload>.json to results/<tag>-summary.md and results/<tag>-chart.svg
// (and the table in bench/README.md). No dependencies: plain strings.

import fs from 'node:fs'
import path from 'node:path'
import { renderChart } from './chart.mjs'
import { WORKLOAD_IDS } from './workloads.mjs'

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (!v.length) return null
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

/** Medians over the successful repetitions of one client in one workload (null if none). */
export function medianSummary(reps) {
  const ok = reps.filter((r) => r.ok)
  if (!ok.length) return null
  const pick = (f) => median(ok.map(f))
  const lat = (k) => pick((r) => r.latency?.[k])
  return {
    okReps: ok.length,
    failedReps: reps.length - ok.length,
    msgsPerSec: pick((r) => r.msgsPerSec),
    mbPerSec: pick((r) => r.mbPerSec),
    elapsedMs: pick((r) => r.elapsedMs),
    cpuNsPerMsgWindow: pick((r) => r.cpuNsPerMsg),
    cpuS: pick((r) => r.outside?.cpuS),
    cpuNsPerMsgProcess: pick((r) => r.outside?.cpuNsPerMsg),
    maxRssMB: pick((r) => r.outside?.maxRssMB),
    firstMessageMs: pick((r) => r.firstMessageMs ?? r.joinMs),
    latency: ok.some((r) => r.latency) ? { p50: lat('p50'), p99: lat('p99'), p999: lat('p999'), max: lat('max') } : null,
  }
}

const int = (x) => (x == null ? '-' : Math.round(x).toLocaleString('en-US'))
const num = (x, d = 1) => (x == null ? '-' : Number(x).toFixed(d))
const ms = (x) => (x == null ? '-' : x < 10 ? Number(x).toFixed(2) : Number(x).toFixed(1))

function clientCell(id, e) {
  const v = e.version ? ` ${e.version.split(' ')[0]}` : ''
  const lib = e.librdkafka ? ` (librdkafka ${e.librdkafka})` : ''
  const rt = e.runtime && /node22|v22/.test(e.runtime) ? ', Node 22' : ''
  const name = id === 'nkafka' ? '**nkafka**' : id
  return `${name}${e.reference ? ' (reference)' : ''}${v}${lib}${rt}`
}

function statusCell(e) {
  if (e.status === 'n/a') return e.reason ?? 'n/a'
  if (e.status === 'unavailable') return `not run: ${e.reason}`
  const err = e.reps.find((r) => !r.ok)?.error ?? 'every repetition failed'
  return `failed: ${err.split('\n')[0].slice(0, 160)}`
}

function tableFor(doc) {
  const kind = doc.params.kind
  const entries = Object.entries(doc.clients)
  const base = doc.clients.nkafka?.median?.msgsPerSec ?? null
  const lines = []
  const rps = (m) => `${m.okReps}${m.failedReps ? ` (+${m.failedReps} failed)` : ''}`
  if (kind === 'e2e') {
    lines.push(
      '| client | p50 ms | p99 ms | p99.9 ms | max ms | CPU s (process) | peak RSS MB | reps |',
      '|---|--:|--:|--:|--:|--:|--:|--:|',
    )
    for (const [id, e] of entries) {
      const m = e.median
      if (e.status !== 'ok' || !m) lines.push(`| ${clientCell(id, e)} | ${statusCell(e)} ||||||| `)
      else
        lines.push(
          `| ${clientCell(id, e)} | ${ms(m.latency?.p50)} | ${ms(m.latency?.p99)} | ${ms(m.latency?.p999)} | ${ms(m.latency?.max)} | ${num(m.cpuS, 2)} | ${int(m.maxRssMB)} | ${rps(m)} |`,
        )
    }
    return lines
  }
  if (kind === 'send-await') {
    lines.push(
      '| client | ops/s | vs nkafka | p50 ms | p99 ms | CPU µs/op (window) | CPU s (process) | peak RSS MB | reps |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    )
    for (const [id, e] of entries) {
      const m = e.median
      if (e.status !== 'ok' || !m) lines.push(`| ${clientCell(id, e)} | ${statusCell(e)} |||||||| `)
      else
        lines.push(
          `| ${clientCell(id, e)} | ${int(m.msgsPerSec)} | ${base ? `${num(m.msgsPerSec / base, 2)}x` : '-'} | ${ms(m.latency?.p50)} | ${ms(m.latency?.p99)} | ${m.cpuNsPerMsgWindow == null ? '-' : num(m.cpuNsPerMsgWindow / 1000, 1)} | ${num(m.cpuS, 2)} | ${int(m.maxRssMB)} | ${rps(m)} |`,
        )
    }
    return lines
  }
  const consume = kind === 'consume'
  lines.push(
    `| client | msgs/s | MB/s | vs nkafka | CPU ns/msg (window) | CPU ns/msg (process) | peak RSS MB |${consume ? ' first msg ms |' : ''} reps |`,
    `|---|--:|--:|--:|--:|--:|--:|${consume ? '--:|' : ''}--:|`,
  )
  for (const [id, e] of entries) {
    const m = e.median
    if (e.status !== 'ok' || !m) lines.push(`| ${clientCell(id, e)} | ${statusCell(e)} ||||||${consume ? '|' : ''}| `)
    else
      lines.push(
        `| ${clientCell(id, e)} | ${int(m.msgsPerSec)} | ${num(m.mbPerSec)} | ${base ? `${num(m.msgsPerSec / base, 2)}x` : '-'} | ${int(m.cpuNsPerMsgWindow)} | ${int(m.cpuNsPerMsgProcess)} | ${int(m.maxRssMB)} |${consume ? ` ${int(m.firstMessageMs)} |` : ''} ${rps(m)} |`,
      )
  }
  return lines
}

/** The newest results/*-encode.json (nkafka's encode-only microbenchmark), or null. */
function latestEncode(dir) {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('-encode.json'))
    .sort()
  if (!files.length) return null
  try {
    return { file: files.at(-1), ...JSON.parse(fs.readFileSync(path.join(dir, files.at(-1)), 'utf8')) }
  } catch {
    return null
  }
}

/** When the workloads were measured: one time, or first .. last when a tag spans runs. */
function dateRange(docs) {
  const ds = docs.map((d) => d.date).sort()
  const f = (d) => d.slice(0, 16).replace('T', ' ')
  return ds[0] === ds.at(-1) || f(ds[0]) === f(ds.at(-1)) ? f(ds[0]) : `${f(ds[0])} .. ${f(ds.at(-1))}`
}

export function loadDocs(dir, tag) {
  return WORKLOAD_IDS.map((w) => path.join(dir, `${tag}-${w}.json`))
    .filter((f) => fs.existsSync(f))
    .map((f) => JSON.parse(fs.readFileSync(f, 'utf8')))
}

export function renderSummary(dir, tag, docs) {
  const first = docs[0]
  const m = first.machine
  const out = []
  out.push(`# nkafka benchmark: ${tag}`, '')
  if (docs.some((d) => d.mode === 'custom')) {
    out.push(
      "> **Custom run**: sizes, clients, workloads or repetitions narrowed from the protocol's (see each table's N and repetitions).",
      '',
    )
  }
  if (docs.some((d) => d.quick)) {
    out.push(
      '> **Quick run** (`--quick`): small N, one repetition, a smoke check of the harness. The figures are dominated by start-up and warm-up and say little about the clients; run the full benchmark on a quiet machine for numbers to quote.',
      '',
    )
  }
  out.push(
    `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memGB} GB, ${m.distro}, Linux ${m.kernel}; Node ${m.node}; ${m.java ?? 'no Java'}. ` +
      `Broker: Apache Kafka ${first.broker.version}, one KRaft node on the same machine (${first.broker.startedByBench ? `started by the harness, heap ${first.broker.heap}` : first.broker.note}). ` +
      `Load average at the start: ${m.loadAvg?.join(' ')}. Date: ${dateRange(docs)} UTC.`,
    '',
    'Each client runs in its own process, a fresh topic per client per repetition, repetitions interleaved (every client once per repetition, the one that goes first rotating); figures are medians over repetitions. ' +
      'msgs/s and MB/s (payload bytes, 10^6) are measured inside the client process from the first call to the last delivery report (producers) or from the start of consuming to the N-th message (consumers), except kcat (process wall time). ' +
      '"CPU ns/msg (window)" is the client process\'s CPU (all threads) in that same window; "CPU ns/msg (process)" and "peak RSS" are measured from outside (GNU time: user+sys of the whole process including start-up, max RSS). ' +
      'JVM start-up and JIT make the process figures of the Java tools larger at small N.',
    '',
  )
  for (const doc of docs) {
    const p = doc.params
    const size =
      p.kind === 'e2e'
        ? `${p.rate.toLocaleString('en-US')} msg/s for ${p.durationMs / 1000} s, warm-up ${p.warmupMs / 1000} s`
        : `N = ${p.n.toLocaleString('en-US')}`
    out.push(`## ${doc.title}`, '', `${doc.what}. ${size}, ${doc.reps} repetition${doc.reps > 1 ? 's' : ''}.`, '', ...tableFor(doc), '')
  }
  // nkafka's client-side ceiling, when someone has measured it.
  const enc = latestEncode(dir)
  out.push('## Encode only (nkafka RecordBatch writer, no broker)', '')
  if (enc) {
    out.push(
      `| measurement | ns/record | records/s | record | source |`,
      '|---|--:|--:|---|---|',
      `| ${enc.what ?? 'RecordBatch v2 encode'} | ${num(enc.nsPerRecord, 1)} | ${int(enc.recordsPerSec ?? (enc.nsPerRecord ? 1e9 / enc.nsPerRecord : null))} | ${enc.recordSize ?? 100} B value, ${enc.key ?? 'null key'} | results/${enc.file}${enc.date ? `, ${String(enc.date).slice(0, 10)}` : ''} |`,
      '',
    )
  } else {
    out.push(
      'Not measured yet: this slot shows the newest `bench/results/*-encode.json` (see bench/README.md for its fields) when one exists.',
      '',
    )
  }
  out.push('## What each client used', '')
  const byClient = new Map()
  for (const doc of docs) {
    for (const [id, e] of Object.entries(doc.clients)) {
      if (!byClient.has(id)) byClient.set(id, { e, rows: [] })
      if (e.api) byClient.get(id).rows.push(`  - ${doc.workload}: ${e.api}. Config: ${e.config}.`)
    }
  }
  for (const [id, { e, rows }] of byClient) {
    const rt = e.runtime ? `, ${e.runtime}` : ''
    out.push(`- **${id}** ${e.version ?? ''}${e.librdkafka ? ` (librdkafka ${e.librdkafka})` : ''}${rt}`, ...rows)
  }
  out.push('', `Raw data, every repetition: \`bench/results/${tag}-<workload>.json\`. Chart: \`bench/results/${tag}-chart.svg\`.`, '')
  return out.join('\n')
}

/**
 * One table for the project README: clients down, workloads across (msgs/s, ops/s for
 * P3, p99 for E2E); P1's CPU per message and peak RSS at the end, where the targets are.
 */
export function renderHeadline(tag, docs) {
  const ids = []
  for (const d of docs) for (const id of Object.keys(d.clients)) if (!ids.includes(id)) ids.push(id)
  const p1 = docs.find((d) => d.workload === 'P1')
  const head = docs.map((d) => `${d.workload}${d.params.kind === 'send-await' ? ' ops/s' : d.params.kind === 'e2e' ? ' p99 ms' : ''}`)
  const m = docs[0].machine
  const lines = [
    `Benchmark \`${tag}\` (${dateRange(docs)} UTC): ${m.nproc} CPUs (${m.cpuModel}), ${m.memGB} GB, Node ${m.node}, Apache Kafka ${docs[0].broker.version} (one local KRaft node). ` +
      `Medians of ${[...new Set(docs.map((d) => d.reps))].join('/')} interleaved repetitions; msgs/s unless noted; "-": the client has no such mode. ` +
      'Full tables, what each client used and raw JSON: [bench/](bench/README.md).',
    '',
    `| client | ${head.join(' | ')} |${p1 ? ' P1 CPU ns/msg | P1 peak RSS MB |' : ''}`,
    `|---|${docs.map(() => '--:|').join('')}${p1 ? '--:|--:|' : ''}`,
  ]
  for (const id of ids) {
    const cells = docs.map((d) => {
      const e = d.clients[id]
      const med = e?.status === 'ok' ? e.median : null
      if (!med) return e?.status === 'failed' ? 'failed' : '-'
      return d.params.kind === 'e2e' ? ms(med.latency?.p99) : int(med.msgsPerSec)
    })
    const e1 = p1?.clients[id]
    const m1 = e1?.status === 'ok' ? e1.median : null
    const extra = p1 ? ` ${int(m1?.cpuNsPerMsgProcess)} | ${int(m1?.maxRssMB)} |` : ''
    const e = docs.map((d) => d.clients[id]).find(Boolean)
    lines.push(`| ${clientCell(id, e)} | ${cells.join(' | ')} |${extra}`)
  }
  return lines.join('\n')
}

const HEAD_START = '<!-- bench:headline:start -->'
const HEAD_END = '<!-- bench:headline:end -->'

/** Puts the headline table and chart into the project README (full or custom runs, never quick ones). */
function refreshRootReadme(readme, tag, docs) {
  if (!fs.existsSync(readme) || docs.some((d) => d.quick)) return
  const text = fs.readFileSync(readme, 'utf8')
  const a = text.indexOf(HEAD_START)
  const b = text.indexOf(HEAD_END)
  if (a < 0 || b < a) return
  const block = `${HEAD_START}\n![nkafka against the field](bench/results/${tag}-chart.svg)\n\n${renderHeadline(tag, docs)}\n`
  fs.writeFileSync(readme, text.slice(0, a) + block + text.slice(b))
}

/** Writes <tag>-summary.md and <tag>-chart.svg; refreshes the READMEs' tables. */
export function writeReport(dir, tag, { updateReadme, updateRootReadme } = {}) {
  const docs = loadDocs(dir, tag)
  if (!docs.length) throw new Error(`no results/${tag}-*.json`)
  const md = renderSummary(dir, tag, docs)
  const summary = path.join(dir, `${tag}-summary.md`)
  fs.writeFileSync(summary, md)
  const chart = path.join(dir, `${tag}-chart.svg`)
  fs.writeFileSync(chart, renderChart(docs, { title: `nkafka benchmark ${tag}` }))
  if (updateReadme)
    refreshReadme(
      updateReadme,
      tag,
      md,
      docs.every((d) => d.mode === 'full'),
    )
  if (updateRootReadme) refreshRootReadme(updateRootReadme, tag, docs)
  return { summary, chart }
}

const START = '<!-- bench:latest:start -->'
const END = '<!-- bench:latest:end -->'

/** Puts the latest table into the README; only a full run replaces a full run's table. */
function refreshReadme(readme, tag, md, full) {
  if (!fs.existsSync(readme)) return
  const text = fs.readFileSync(readme, 'utf8')
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  if (a < 0 || b < a) return
  if (!full && /<!-- bench:full -->/.test(text.slice(a, b))) return
  const body = md
    .replace(/^# .*\n/, '')
    .replace(/^## /gm, '### ')
    .replace(/`bench\/results\//g, '`results/')
  const block = `${START}\n${full ? '<!-- bench:full -->' : '<!-- bench:partial -->'}\n\nLatest results (\`${tag}\`):\n\n![chart](results/${tag}-chart.svg)\n${body}\n`
  fs.writeFileSync(readme, text.slice(0, a) + block + text.slice(b))
}
