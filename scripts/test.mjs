// `npm test`: every test against real brokers. Starts the local Kafka (scripts/kafka.mjs;
// `single`, and `secure` for the TLS/SASL tests) unless KAFKA_BROKERS / KAFKA_SECURE_JSON
// point at running ones, runs the Rust tests (unit, vectors, integration) and
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
// The `secure` broker (TLS and SASL listeners) for the security tests of both suites,
// described in a JSON file they read (KAFKA_SECURE_JSON names an existing one).
let secureJson = process.env.KAFKA_SECURE_JSON?.trim()
let secure = null
if (!secureJson) {
  const kafka = await import('./kafka.mjs')
  try {
    secure = await kafka.startKafka({ mode: 'secure', fresh: true, autoCreateTopics: false })
  } catch (e) {
    if (started) await started.stop()
    console.error(`npm test: could not start the local secure Kafka broker: ${e.message}`)
    process.exit(1)
  }
  mkdirSync(join(root, '.cache'), { recursive: true })
  secureJson = join(root, '.cache', 'kafka-secure.json')
  writeFileSync(secureJson, JSON.stringify(secure, null, 2))
  console.log(`npm test: local secure Kafka at ${secure.bootstrap} (listeners in ${secureJson})`)
}
const env = { KAFKA_BROKERS: brokers, KAFKA_SECURE_JSON: secureJson }

try {
  if (only !== 'js') {
    const r = await run('cargo', ['test', '--workspace', '--no-fail-fast', '--color', 'never'], env, true)
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
  if (secure) await secure.stop()
}

if (broken) {
  console.error('npm test: a test step failed to run (build error or crash); see above')
  failed = Math.max(failed, 1)
}
console.log(`tests: ${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
