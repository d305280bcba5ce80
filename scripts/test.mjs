// `npm test`: every test against real brokers. Starts the local Kafka (scripts/kafka.mjs;
// `single`, `secure` for the TLS/SASL tests, `cluster` for the fault tests) unless
// KAFKA_BROKERS / KAFKA_SECURE_JSON / KAFKA_CLUSTER_JSON point at running ones, runs the Rust tests (unit, vectors, integration) and
// the vitest suite, and ends with one line: `tests: N passed, M failed`.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const only = args.includes('--rust') ? 'rust' : args.includes('--js') ? 'js' : null

function run(cmd, argv, env, capture) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => {
      const s = d.toString()
      if (capture) out += s
      process.stdout.write(s)
    })
    child.on('close', (code) => resolve({ code: code ?? 1, out }))
    child.on('error', (e) => {
      console.error(`cannot run ${cmd}: ${e.message}`)
      resolve({ code: 1, out })
    })
  })
}

let passed = 0
let failed = 0
let broken = false

const native =
  existsSync(join(root, 'native')) && (await import('node:fs')).readdirSync(join(root, 'native')).some((f) => f.endsWith('.node'))
if (!native || !existsSync(join(root, 'dist', 'index.js'))) {
  console.error('npm test: the native addon or dist/ is missing; run `npm install` first.')
  process.exit(1)
}

let brokers = process.env.KAFKA_BROKERS?.trim()
let started = null
if (!brokers) {
  const kafka = await import('./kafka.mjs')
  try {
    started = await kafka.startKafka({ mode: 'single', fresh: true, autoCreateTopics: false })
  } catch (e) {
    console.error(`npm test: could not start the local Kafka broker: ${e.message}`)
    process.exit(1)
  }
  brokers = started.bootstrap
  console.log(`npm test: local Kafka at ${brokers}`)
}
// The `secure` broker (TLS and SASL listeners) for the security tests and the 3-broker
// `cluster` (RF 3, min.insync.replicas 2) for the fault tests, each described in a JSON
// file the tests read (KAFKA_SECURE_JSON / KAFKA_CLUSTER_JSON name existing ones).
const extra = []
async function described(mode, variable) {
  const existing = process.env[variable]?.trim()
  if (existing) return existing
  const kafka = await import('./kafka.mjs')
  let handle
  try {
    handle = await kafka.startKafka({ mode, fresh: true, autoCreateTopics: false })
  } catch (e) {
    for (const h of [started, ...extra]) if (h) await h.stop()
    console.error(`npm test: could not start the local ${mode} Kafka: ${e.message}`)
    process.exit(1)
  }
  extra.push(handle)
  mkdirSync(join(root, '.cache'), { recursive: true })
  const file = join(root, '.cache', `kafka-${mode}.json`)
  writeFileSync(file, JSON.stringify(handle, null, 2))
  console.log(`npm test: local ${mode} Kafka at ${handle.bootstrap} (described in ${file})`)
  return file
}
const secureJson = await described('secure', 'KAFKA_SECURE_JSON')
const clusterJson = await described('cluster', 'KAFKA_CLUSTER_JSON')
const env = { KAFKA_BROKERS: brokers, KAFKA_SECURE_JSON: secureJson, KAFKA_CLUSTER_JSON: clusterJson }

/** Runs one cargo test invocation and counts its results. */
async function cargoTest(args) {
  const r = await run('cargo', args, env, true)
  let sawResult = false
  for (const m of r.out.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g)) {
    sawResult = true
    passed += Number(m[1])
    failed += Number(m[2])
    if (Number(m[3]) > 0) {
      console.error(`npm test: ${m[3]} Rust test(s) are ignored; ignored tests count as failures here`)
      failed += Number(m[3])
    }
  }
  if (r.code !== 0 && !failed) broken = true // a build error: no test result lines
  if (!sawResult) broken = true
}

try {
  if (only !== 'js') {
    await cargoTest(['test', '--workspace', '--no-fail-fast', '--color', 'never'])
    // Contained panics: the fail points exist only in this build (crates/client/tests/panics.rs).
    await cargoTest(['test', '-p', 'nkafka-client', '--features', 'fail-points', '--test', 'panics', '--color', 'never'])
  }
  if (only !== 'rust') {
    mkdirSync(join(root, '.cache'), { recursive: true })
    const report = join(root, '.cache', 'vitest-report.json')
    rmSync(report, { force: true })
    const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')
    const r = await run(
      process.execPath,
      [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
      env,
      false,
    )
    if (existsSync(report)) {
      const j = JSON.parse(readFileSync(report, 'utf8'))
      passed += j.numPassedTests
      failed += j.numFailedTests
      const skipped = j.numPendingTests + j.numTodoTests
      if (skipped > 0) {
        console.error(`npm test: ${skipped} JS test(s) skipped or todo; they count as failures here`)
        failed += skipped
      }
      if (r.code !== 0 && j.numFailedTests === 0) broken = true
    } else {
      broken = true
    }
  }
} finally {
  if (started) await started.stop()
  for (const h of extra) await h.stop()
}

if (broken) {
  console.error('npm test: a test step failed to run (build error or crash); see above')
  failed = Math.max(failed, 1)
}
console.log(`tests: ${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
