/**
 * `nkafka/kafkajs`: KafkaJS's API over nkafka, so moving from KafkaJS is one import:
 * `import { Kafka, logLevel, CompressionTypes } from 'nkafka/kafkajs'`. Differences and
 * unsupported options: docs/KAFKAJS.md.
 * @packageDocumentation
 */
export type { AdminConfig, SeekEntry } from './admin'
export {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Admin,
  ConfigResourceTypes,
  ConfigSource,
  ResourcePatternTypes,
} from './admin'
export type { MemberAssignment, MemberMetadata } from './assigner-protocol'
export { AssignerProtocol } from './assigner-protocol'
export type {
  Batch,
  ConsumerConfig,
  ConsumerRunConfig,
  EachBatchPayload,
  EachMessagePayload,
  KafkaMessage,
  TopicOffsets,
} from './consumer'
export { Consumer, PartitionAssigners } from './consumer'
export {
  KafkaJSAggregateError,
  KafkaJSConnectionError,
  KafkaJSCreateTopicError,
  KafkaJSDeleteGroupsError,
  KafkaJSDeleteTopicRecordsError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNotImplemented,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSOffsetOutOfRange,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
  KafkaJSServerDoesNotSupportApiKey,
  KafkaJSTimeout,
  KafkaJSTopicMetadataNotLoaded,
} from './errors'
export type { InstrumentationEvent } from './events'
export type { BrokersFunction, KafkaConfig, LogEntry, Logger, logCreator, RetryOptions } from './kafka'
export { Kafka, logLevel } from './kafka'
export type {
  ICustomPartitioner,
  Message,
  PartitionMetadata,
  ProducerBatch,
  ProducerConfig,
  ProducerRecord,
  RecordMetadata,
  Transaction,
} from './producer'
export { CompressionCodecs, CompressionTypes, Partitioners, Producer } from './producer'
