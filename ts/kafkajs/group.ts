/** @internal Groups items by a key, keeping first-seen order (KafkaJS's per-topic result lists). */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>()
  for (const item of items) {
    const k = keyOf(item)
    const list = out.get(k)
    if (list === undefined) out.set(k, [item])
    else list.push(item)
  }
  return out
}

/** @internal `[{ topic, partition, offset }]` as KafkaJS's `[{ topic, partitions: [{ partition, offset }] }]`. */
export function byTopic(list: Iterable<{ topic: string; partition: number; offset: number | string }>): Array<{
  topic: string
  partitions: Array<{ partition: number; offset: string }>
}> {
  return [...groupBy(list, (o) => o.topic)].map(([topic, ps]) => ({
    topic,
    partitions: ps.map((p) => ({ partition: p.partition, offset: String(p.offset) })),
  }))
}

/** @internal Partitions per topic, `{ topic: [partition, ...] }`. */
export function partitionsByTopic(tps: Iterable<{ topic: string; partition: number }>): Record<string, number[]> {
  return Object.fromEntries([...groupBy(tps, (tp) => tp.topic)].map(([t, ps]) => [t, ps.map((p) => p.partition)]))
}
