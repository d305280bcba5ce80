// Proves the prebuilt-binary story: packs the root package and this platform's package
// (npm/<platform>/ with the release binary in it), installs both into an empty directory
// with no Rust toolchain on PATH, and checks that require('nkafka') and import('nkafka')
// work there and load the platform package's binary (not a build from source).
//
//   node scripts/pack-test.mjs [--binary native/nkafka.linux-x64-gnu.node]
//
// Prints one line per check; exits non-zero on the first failure.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function platform() {
  const { platform: p, arch } = process
  if (p === 'linux') return `linux-${arch}-${process.report?.getReport()?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
  if (p === 'win32') return `win32-${arch}-msvc`
  return `${p}-${arch}`
}

function fail(msg) {
  console.error(`pack-test: FAIL: ${msg}`)
  process.exit(1)
}

const suffix = platform()
const argIdx = process.argv.indexOf('--binary')
const binary = argIdx > 0 ? process.argv[argIdx + 1] : join(root, 'native', `nkafka.${suffix}.node`)
if (!existsSync(binary)) fail(`no binary at ${binary}; run npm install (or npm run build:native) first`)
if (!existsSync(join(root, 'dist', 'index.js'))) fail('dist/ is missing; run npm run build:ts first')
const pkgDir = join(root, 'npm', suffix)
if (!existsSync(pkgDir)) fail(`no platform package directory ${pkgDir}`)

const work = mkdtempSync(join(tmpdir(), 'nkafka-pack-'))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
try {
  // 1. The two tarballs.
  const platformBinary = join(pkgDir, `nkafka.${suffix}.node`)
  copyFileSync(binary, platformBinary)
  const pack = (dir) => {
    const out = execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: dir, encoding: 'utf8' })
    return join(work, JSON.parse(out)[0].filename)
  }
  const rootTgz = pack(root)
  const platformTgz = pack(pkgDir)
  rmSync(platformBinary, { force: true })
  console.log(`pack-test: packed ${rootTgz.split(/[\\/]/).pop()} and ${platformTgz.split(/[\\/]/).pop()}`)

  // 2. An empty project, installed with no cargo/rustc on PATH.
  const app = join(work, 'app')
  execFileSync(process.execPath, ['-e', `require('fs').mkdirSync(${JSON.stringify(app)})`])
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-test-app', version: '1.0.0', private: true }))
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((d) => !existsSync(join(d, 'cargo')) && !existsSync(join(d, 'rustc')) && !/cargo|rustup/.test(d))
    .join(delimiter)
  const env = { ...process.env, PATH: path, CARGO: '', RUSTUP_HOME: '/nonexistent', CARGO_HOME: '/nonexistent' }
  if (spawnSync('cargo', ['--version'], { env }).status === 0) fail('cargo is still on PATH; cannot prove the install needs no Rust')
  const install = spawnSync(npm, ['install', '--no-audit', '--no-fund', rootTgz, platformTgz], { cwd: app, env, encoding: 'utf8' })
  if (install.status !== 0) fail(`npm install failed:\n${install.stdout}\n${install.stderr}`)
  console.log('pack-test: installed both tarballs without a Rust toolchain')
  const installed = join(app, 'node_modules', 'nkafka')
  if (existsSync(join(installed, 'native')) && readdirSync(join(installed, 'native')).some((f) => f.endsWith('.node'))) {
    fail('the installed package built or shipped its own binary; it must use the platform package')
  }

  // 3. require and import, and a real call into the addon.
  const check = `
    const k = require('nkafka');
    const p = require.resolve('nkafka-${suffix}');
    if (typeof k.Producer !== 'function' || typeof k.Admin !== 'function') throw new Error('missing exports');
    let code;
    try { new k.Admin({ bootstrapServers: 'no-port' }) } catch (e) { code = e.code }
    if (code !== 'INVALID_CONFIG') throw new Error('native config validation did not run: ' + code);
    console.log('require ok, binary from ' + p);
  `
  const cjs = spawnSync(process.execPath, ['-e', check], { cwd: app, env, encoding: 'utf8' })
  if (cjs.status !== 0) fail(`require('nkafka') failed:\n${cjs.stderr}`)
  console.log(`pack-test: ${cjs.stdout.trim()}`)
  const esm = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import { Producer, KafkaError } from 'nkafka'; import def from 'nkafka'; if (def.Producer !== Producer || typeof KafkaError !== 'function') throw new Error('bad ESM exports'); console.log('import ok')",
    ],
    { cwd: app, env, encoding: 'utf8' },
  )
  if (esm.status !== 0) fail(`import('nkafka') failed:\n${esm.stderr}`)
  console.log(`pack-test: ${esm.stdout.trim()}`)
  // nkafka/kafkajs: the KafkaJS-compatible subpath, both ways, one instance of the addon.
  const kjs = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import { createRequire } from 'node:module'; import { Kafka, KafkaJSError } from 'nkafka/kafkajs'; const req = createRequire(process.cwd() + '/'); if (req('nkafka/kafkajs').Kafka !== Kafka || typeof KafkaJSError !== 'function') throw new Error('bad nkafka/kafkajs exports'); console.log('nkafka/kafkajs require + import ok')",
    ],
    { cwd: app, env, encoding: 'utf8' },
  )
  if (kjs.status !== 0) fail(`nkafka/kafkajs failed:\n${kjs.stderr}`)
  console.log(`pack-test: ${kjs.stdout.trim()}`)
  const types = join(installed, 'dist', 'index.d.ts')
  if (!existsSync(types) || !existsSync(join(installed, 'dist', 'index.d.mts'))) fail('type declarations are missing from the package')
  console.log('pack-test: type declarations present (index.d.ts, index.d.mts)')
  console.log('pack-test: ok')
} finally {
  rmSync(work, { recursive: true, force: true })
}
