import type { BindingAdmin, BindingError } from '../../native/binding'
import { KafkaError } from '../errors'

/**
 * An item of an admin call on many items (topics, groups, config resources): `error` is
 * null when the operation succeeded for it. One failed item never fails the others; use
 * {@link throwIfFailed} to turn any failure into an exception.
 */
export interface ItemResult {
  error: KafkaError | null
}

/** Thrown by {@link throwIfFailed}: every failed item's error, in order. */
export class AdminItemsError extends KafkaError {
  readonly errors: KafkaError[]

  constructor(errors: KafkaError[]) {
    const first = errors[0] as KafkaError
    const more =
      errors.length > 1
        ? ` (and ${errors.length - 1} more: ${errors
            .slice(1)
            .map((e) => e.message)
            .join('; ')})`
        : ''
    super(`${errors.length} of the items failed: ${first.message}${more}`, {
      code: first.code,
      retriable: errors.every((e) => e.retriable),
      topic: first.topic,
      partition: first.partition,
      broker: first.broker,
    })
    this.errors = errors
  }
}

/**
 * Returns `results` when every item succeeded; otherwise throws an {@link AdminItemsError}
 * naming every failure (Java's `all()`). Its `code` is the first failure's code.
 */
export function throwIfFailed<T extends ItemResult>(results: T[]): T[] {
  const errors = results.flatMap((r) => (r.error ? [r.error] : []))
  if (errors.length > 0) throw new AdminItemsError(errors)
  return results
}

/** @internal The error of an item as the native layer sends it, or null. */
export function itemError(e: BindingError | null | undefined): KafkaError | null {
  return e ? KafkaError.fromBinding(e) : null
}

/** @internal Runs the native admin operation `op` with JSON arguments. */
export async function rpc<T>(binding: BindingAdmin, op: string, args: unknown): Promise<T> {
  const r = await binding.call(op, JSON.stringify(args ?? {}))
  if (r.error) throw KafkaError.fromBinding(r.error)
  return JSON.parse(r.json as string) as T
}
