/**
 * Loads the native addon. Order: an explicit path in `NKAFKA_NATIVE_PATH`, then the
 * prebuilt per-platform package (`nkafka-linux-x64-gnu`, ...), then a binary built from
 * source into `native/` by `npm install`. In a git checkout (ts/ present) the local build
 * comes before the platform package, so tests always run this commit's code.
 * Internal: never re-exported.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type * as Binding from '../native/binding'

export type NativeBinding = typeof Binding

function isMusl(): boolean {
  if (process.platform !== 'linux') return false
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    return !report?.header?.glibcVersionRuntime
  } catch {
    return false
  }
}

/** The napi-rs platform suffix for this machine, e.g. `linux-x64-gnu`. */
export function platformSuffix(): string {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function load(): NativeBinding {
  const suffix = platformSuffix()
  const tried: string[] = []
  const candidates: string[] = []
  if (process.env.NKAFKA_NATIVE_PATH) candidates.push(process.env.NKAFKA_NATIVE_PATH)
  const local = join(__dirname, '..', 'native', `nkafka.${suffix}.node`)
  const checkout = existsSync(join(__dirname, '..', 'ts', 'index.ts'))
  if (checkout) candidates.push(local, `nkafka-${suffix}`)
  else candidates.push(`nkafka-${suffix}`, local)
  for (const c of candidates) {
    if (c.endsWith('.node') && !existsSync(c)) {
      tried.push(`${c}: not found`)
      continue
    }
    try {
      return require(c) as NativeBinding
    } catch (e) {
      tried.push(`${c}: ${(e as Error).message.split('\n')[0]}`)
    }
  }
  throw new Error(
    `nkafka: no native addon for ${suffix}. Tried:\n  ${tried.join('\n  ')}\n` +
      'Reinstall with `npm install nkafka` (it builds from source when no prebuilt binary exists; that needs a Rust toolchain).',
  )
}

export const native: NativeBinding = load()
