// `npm run fuzz -- --runs N | --time S [--target NAME]...`: builds the cargo-fuzz targets of
// crates/protocol/fuzz (nightly toolchain, `cargo install cargo-fuzz`) and runs each one,
// one after another, for N inputs or S seconds. Each target starts from its committed seeds
// (fuzz/seeds/<target>, when present) and keeps what it finds in fuzz/corpus/<target>
// (git-ignored). Prints executions per target; exits non-zero when a target crashes (the
// input is in fuzz/artifacts/<target>) or cannot be built or run.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const protocol = fileURLToPath(new URL('../crates/protocol', import.meta.url))
const fuzzDir = join(protocol, 'fuzz')

function usage(message) {
  console.error(`fuzz: ${message}\nusage: npm run fuzz -- (--runs N | --time SECONDS) [--target NAME]...`)
  process.exit(2)
}

const argv = process.argv.slice(2)
let runs = null
let time = null
const targets = []
for (let i = 0; i < argv.length; i++) {
  const value = argv[i + 1]
  if (argv[i] === '--runs' || argv[i] === '--time') {
    if (!/^[1-9][0-9]*$/.test(value ?? '')) usage(`${argv[i]} needs a positive integer`)
    if (argv[i] === '--runs') runs = Number(value)
    else time = Number(value)
    i++
  } else if (argv[i] === '--target') {
    if (!value) usage('--target needs a name')
    targets.push(value)
    i++
  } else {
    usage(`unknown argument ${argv[i]}`)
  }
}
if ((runs === null) === (time === null)) usage('give exactly one of --runs and --time')

// libFuzzer stops at any single allocation over this: the response decoders must allocate
// in proportion to their input, whatever counts it claims.
const mallocLimitMb = { response: 64 }

function cargoFuzz(args, options = {}) {
  return spawnSync('cargo', ['+nightly', 'fuzz', ...args], { cwd: protocol, encoding: 'utf8', ...options })
}

const version = cargoFuzz(['--version'])
if (version.status !== 0) {
  console.error(
    'fuzz: `cargo +nightly fuzz` does not run. Install it with:\n' +
      '  rustup toolchain install nightly --profile minimal\n' +
      '  cargo install cargo-fuzz --locked\n' +
      (version.stderr || version.error?.message || ''),
  )
  process.exit(1)
}
const listed = cargoFuzz(['list'])
if (listed.status !== 0) {
  console.error(`fuzz: cargo fuzz list failed:\n${listed.stderr}`)
  process.exit(1)
}
const all = listed.stdout.split('\n').filter(Boolean)
for (const t of targets) if (!all.includes(t)) usage(`no target ${t} (have: ${all.join(', ')})`)
const chosen = targets.length > 0 ? targets : all

console.log(`fuzz: building ${chosen.join(', ')} (${version.stdout.trim()})`)
const build = cargoFuzz(['build', ...(targets.length === 1 ? targets : [])], { stdio: 'inherit' })
if (build.status !== 0) {
  console.error('fuzz: cargo +nightly fuzz build failed')
  process.exit(1)
}

function runTarget(target) {
  const corpus = join(fuzzDir, 'corpus', target)
  mkdirSync(corpus, { recursive: true })
  const dirs = [corpus]
  const seeds = join(fuzzDir, 'seeds', target)
  if (existsSync(seeds)) dirs.push(seeds)
  const limit = [runs !== null ? `-runs=${runs}` : `-max_total_time=${time}`]
  if (mallocLimitMb[target]) limit.push(`-malloc_limit_mb=${mallocLimitMb[target]}`)
  const args = ['+nightly', 'fuzz', 'run', target, ...dirs, '--', ...limit, '-print_final_stats=1']
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn('cargo', args, { cwd: protocol, stdio: ['ignore', 'inherit', 'pipe'] })
    let tail = ''
    child.stderr.on('data', (d) => {
      const s = d.toString()
      tail = (tail + s).slice(-20000)
      // Progress lines are many; show the final ones and anything unusual.
      for (const line of s.split('\n')) {
        if (line && !/^#\d+\s+(NEW|REDUCE|pulse)/.test(line)) process.stderr.write(`${line}\n`)
      }
    })
    child.on('error', (e) => resolve({ target, code: 1, execs: 0, seconds: 0, error: e.message }))
    child.on('close', (code) => {
      const execs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(tail)?.[1] ?? 0)
      const artifact = /Test unit written to (\S+)/.exec(tail)?.[1]
      resolve({ target, code: code ?? 1, execs, seconds: Math.round((Date.now() - started) / 1000), artifact })
    })
  })
}

const results = []
for (const target of chosen) results.push(await runTarget(target))
let failed = 0
for (const r of results) {
  const status = r.code === 0 ? 'ok' : `FAILED (exit ${r.code}${r.artifact ? `, input ${r.artifact}` : ''})`
  if (r.code !== 0) failed++
  console.log(`fuzz: ${r.target}: ${r.execs} executions in ${r.seconds} s: ${status}`)
}
console.log(`fuzz: ${results.length - failed} targets ok, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
