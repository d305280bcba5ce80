// nkafka/kafkajs: KafkaJS's API on nkafka (ts/kafkajs/, docs/KAFKAJS.md). The same workload
// code as clients/kafkajs.mjs, so the two rows differ only in the library under the API:
// what an application gets by changing its import.

import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { meta as kafkajsMeta, kafkajsWorkloads } from './kafkajs.mjs'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(import.meta.url)

export const meta = {
  ...kafkajsMeta,
  id: 'kafkajs-compat',
  label: 'nkafka/kafkajs',
  package: 'nkafka/kafkajs',
  workloads: Object.fromEntries(
    Object.entries(kafkajsMeta.workloads).map(([w, d]) => [
      w,
      { ...d, config: d.config.replace(/ \(codec: lz4-napi[^)]*\)/, ' (built in)') },
    ]),
  ),
}

export const workloads = kafkajsWorkloads({ load: () => require(path.join(REPO, 'dist', 'kafkajs', 'index.js')), builtinLz4: true })
