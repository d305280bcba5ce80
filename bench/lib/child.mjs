// Entry of one measured child process: `node lib/child.mjs <client> <spec-json-file>`.
// Loads clients/<client>.mjs, runs spec.workload once, writes the result JSON to
// spec.resultFile and exits. The parent measures this process from outside (CPU, peak RSS).

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))

const [clientName, specFile] = process.argv.slice(2)
const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'))

function finish(result, code) {
  fs.writeFileSync(spec.resultFile, `${JSON.stringify(result, null, 2)}\n`)
  // Some clients keep sockets or native threads alive after close(); the measurement is
  // over, so leave at once rather than wait for them.
  process.exit(code)
}

// A client that fails outside the awaited chain (an unhandled rejection, an exception in an
// event handler) still yields a result.
for (const event of ['unhandledRejection', 'uncaughtException']) {
  process.on(event, (error) => finish({ ok: false, error: `${event}: ${describeError(error)}`.slice(0, 3000) }, 1))
}

// The hard bound: a client that hangs is reported as failed, never waited for forever.
const timer = setTimeout(() => {
  finish({ ok: false, error: `child timed out after ${spec.timeoutMs} ms` }, 3)
}, spec.timeoutMs)
timer.unref()

try {
  const client = await import(pathToFileURL(path.join(HERE, '..', 'clients', `${clientName}.mjs`)).href)
  const run = client.workloads?.[spec.workload]
  if (typeof run !== 'function') throw new Error(`${clientName} does not implement ${spec.workload}`)
  const result = await run(spec)
  finish({ ok: true, runtime: `node ${process.version}`, ...result }, 0)
} catch (error) {
  finish({ ok: false, error: describeError(error).slice(0, 3000) }, 1)
}

/** The message plus what AggregateError / cause chains hide (e.g. per-partition errors). */
function describeError(error, depth = 0) {
  if (depth > 3) return ''
  let text = depth === 0 ? String(error?.stack || error) : String(error?.message ?? error)
  const inner = [...(Array.isArray(error?.errors) ? error.errors : []), ...(error?.cause ? [error.cause] : [])]
  for (const e of inner.slice(0, 3)) text += `\n${'  '.repeat(depth + 1)}<- ${describeError(e, depth + 1)}`
  if (error?.response && depth > 0)
    text += ` ${JSON.stringify(error.response, (_, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 600)}`
  return text
}
