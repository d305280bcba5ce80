// Compiles ts/ to CommonJS in dist/, then adds an ESM entry (dist/index.mjs) that
// re-exports the same objects, so `import` and `require` share one instance of the addon.
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
rmSync(join(root, 'dist'), { recursive: true, force: true })
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
})
// Names exported at runtime, read from the compiled CommonJS (no addon load needed).
function esmEntry(dir, what) {
  const cjs = readFileSync(join(root, 'dist', dir, 'index.js'), 'utf8')
  const names = [...cjs.matchAll(/exports\.(\w+) = /g)].map((m) => m[1]).filter((n) => n !== '__esModule')
  const unique = [...new Set(names)].sort()
  writeFileSync(
    join(root, 'dist', dir, 'index.mjs'),
    `// ESM entry${what}: the same objects as the CommonJS build.\nimport cjs from './index.js'\n\nexport const { ${unique.join(', ')} } = cjs\nexport default cjs\n`,
  )
  writeFileSync(join(root, 'dist', dir, 'index.d.mts'), `export * from './index.js'\n`)
  return unique
}
const unique = esmEntry('.', '')
console.log(`dist/: CommonJS + ESM entry (${unique.join(', ')})`)
// nkafka/otel: its own entry, so only its users load @opentelemetry/api.
const otel = esmEntry('otel', ' of nkafka/otel')
console.log(`dist/otel/: CommonJS + ESM entry (${otel.join(', ')})`)
// nkafka/kafkajs: its own ESM entry over its CommonJS build (same addon instance).
const kafkajs = esmEntry('kafkajs', ' of nkafka/kafkajs')
console.log(`dist/kafkajs/: CommonJS + ESM entry (${kafkajs.length} names)`)
