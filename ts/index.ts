/**
 * nkafka: the Kafka client for Node.js with a Rust core.
 * @packageDocumentation
 */
export { Admin } from './admin'
export type { ClusterDescription, NewTopic, PartitionMetadata, TopicMetadata } from './admin'
export type { ClientConfig, ProducerConfig } from './config'
export { KafkaError } from './errors'
export type { ClientErrorCode, KafkaErrorFields } from './errors'
export { Producer } from './producer'
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
export type { Header } from './records'
export { DeliveryReport } from './report'
