/**
 * nkafka: the Kafka client for Node.js with a Rust core.
 * @packageDocumentation
 */

export type { ClusterDescription, NewTopic, PartitionMetadata, PartitionOffset, TopicMetadata } from './admin'
export { Admin } from './admin'
export type { ClientConfig, ProducerConfig } from './config'
export type { ClientErrorCode, KafkaErrorFields } from './errors'
export { KafkaError } from './errors'
export type {
  ClusterInfo,
  DeliveryCallback,
  Headers,
  Message,
  ProduceOptions,
  ProducerRecord,
  ProducerStats,
  RecordMetadata,
  Value,
} from './producer'
export { Producer } from './producer'
export type { Header } from './records'
export { DeliveryReport } from './report'
