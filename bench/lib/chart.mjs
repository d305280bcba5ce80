// A dependency-free SVG bar chart of a run: one panel per workload, one bar per client
// (median msgs/s; ops/s for P3; p99 latency for E2E, where shorter is better).

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

function metric(doc) {
  switch (doc.params.kind) {
    case 'e2e':
      return {
        unit: 'p99 latency, ms (shorter is better)',
        get: (m) => m.latency?.p99,
        fmt: (v) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`,
      }
    case 'send-await':
      return { unit: 'awaited sends per second', get: (m) => m.msgsPerSec, fmt: (v) => `${Math.round(v).toLocaleString('en-US')} ops/s` }
    default:
      return { unit: 'messages per second', get: (m) => m.msgsPerSec, fmt: (v) => `${Math.round(v).toLocaleString('en-US')} msg/s` }
  }
}

export function renderChart(docs, { title }) {
  const W = 920
  const LABEL = 300
  const BAR = 460
  const ROW = 20
  const parts = []
  let y = 40
  parts.push(`<text x="12" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`)
  for (const doc of docs) {
    const mt = metric(doc)
    const rows = Object.entries(doc.clients)
    const max = Math.max(1e-9, ...rows.map(([, e]) => (e.median ? (mt.get(e.median) ?? 0) : 0)))
    const n = doc.params.kind === 'e2e' ? '' : `, N = ${doc.params.n.toLocaleString('en-US')}`
    parts.push(`<text x="12" y="${y + 14}" font-size="13" font-weight="bold">${esc(doc.title)}</text>`)
    parts.push(
      `<text x="${W - 12}" y="${y + 14}" font-size="11" text-anchor="end" fill="#555">${esc(mt.unit + n)}${doc.quick ? ' (quick run)' : ''}</text>`,
    )
    y += 22
    for (const [id, e] of rows) {
      const v = e.median ? mt.get(e.median) : null
      const color = id === 'nkafka' ? '#d9480f' : e.reference ? '#adb5bd' : '#4c6ef5'
      const label = `${id}${e.version ? ` ${e.version.split(' ')[0]}` : ''}`
      parts.push(
        `<text x="${LABEL - 8}" y="${y + 14}" font-size="12" text-anchor="end"${id === 'nkafka' ? ' font-weight="bold"' : ''}>${esc(label)}</text>`,
      )
      if (v != null) {
        const w = Math.max(1, (v / max) * BAR)
        parts.push(`<rect x="${LABEL}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW - 6}" fill="${color}"/>`)
        parts.push(`<text x="${LABEL + w + 6}" y="${y + 14}" font-size="11">${esc(mt.fmt(v))}</text>`)
      } else {
        const why =
          e.status === 'n/a' ? (id === 'nkafka' ? 'not implemented yet' : 'n/a') : e.status === 'unavailable' ? 'not run' : 'failed'
        parts.push(`<text x="${LABEL}" y="${y + 14}" font-size="11" fill="#888">${esc(why)}</text>`)
      }
      y += ROW
    }
    y += 14
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`
}
