// `npm install` step for nkafka: use the prebuilt per-platform package when there is one,
// otherwise build the native addon from source (release profile) into native/, and, in a
// git checkout, compile the TypeScript. Set NKAFKA_SKIP_BUILD=1 to skip everything.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))

function suffix() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const glibc = process.report?.getReport()?.header?.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function fail(line) {
  console.error(`nkafka install: ${line}`)
  process.exit(1)
}

const platform = suffix()
const isCheckout = existsSync(join(root, '.git')) || existsSync(join(root, 'ts', 'index.ts'))

if (process.env.NKAFKA_SKIP_BUILD) process.exit(0)

let prebuilt = false
try {
  require.resolve(`nkafka-${platform}`)
  prebuilt = true
} catch {}

if (prebuilt && !isCheckout) {
  // The usual case for users: the optional dependency for this platform is installed.
  process.exit(0)
}

if (!prebuilt || isCheckout) {
  const hasCargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0
  if (!hasCargo) {
    fail(`no prebuilt binary for ${platform} and no Rust toolchain to build one. Install Rust (rustup) and run \`npm rebuild nkafka\`.`)
  }
  let napiCli = null
  try {
    napiCli = require.resolve('@napi-rs/cli/dist/cli.js')
  } catch {}
  console.log(`nkafka: building the native addon for ${platform} from source (release)...`)
  if (napiCli && isCheckout) {
    execFileSync(
      process.execPath,
      [
        napiCli,
        'build',
        '--platform',
        '--release',
        '--manifest-path',
        'crates/node/Cargo.toml',
        '--package-json-path',
        'package.json',
        '--output-dir',
        'native',
        '--dts',
        'binding.d.ts',
        '--no-js',
      ],
      { cwd: root, stdio: 'inherit' },
    )
  } else {
    // No napi CLI (a registry install builds with cargo alone).
    execFileSync('cargo', ['build', '--release', '-p', 'nkafka-node'], { cwd: root, stdio: 'inherit' })
    const lib =
      process.platform === 'win32' ? 'nkafka_node.dll' : process.platform === 'darwin' ? 'libnkafka_node.dylib' : 'libnkafka_node.so'
    mkdirSync(join(root, 'native'), { recursive: true })
    copyFileSync(join(root, 'target', 'release', lib), join(root, 'native', `nkafka.${platform}.node`))
  }
}

if (isCheckout) {
  let tsc = null
  try {
    tsc = require.resolve('typescript/bin/tsc')
  } catch {}
  if (tsc) execFileSync(process.execPath, [join(root, 'scripts', 'build-ts.mjs')], { cwd: root, stdio: 'inherit' })
}
