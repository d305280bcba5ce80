/**
 * nkafka: the Kafka client for Node.js with a Rust core.
 * @packageDocumentation
 */

export type { ClusterDescription } from './admin'
export { Admin } from './admin'
export type {
  AclBinding,
  AclBindingFilter,
  AclMatch,
  AclOperation,
  AclPatternType,
  AclPermissionType,
  AclResourceType,
  AlterUserScramCredentialsResult,
  CreateAclResult,
  DeleteAclsResult,
  DescribedAclBinding,
  ScramAlteration,
  ScramDeletion,
  ScramMechanism,
  ScramUpsertion,
  UserScramCredentialsResult,
} from './admin/acls'
export type {
  AlterPartitionReassignmentsOptions,
  BrokerLogDirs,
  DescribeClusterOptions,
  ElectionType,
  ElectLeadersOptions,
  LogDir,
  LogDirReplica,
  LogDirTopic,
  OngoingPartitionReassignment,
  PartitionReassignment,
  PartitionResult,
  TopicPartition,
} from './admin/cluster'
export type {
  AlterConfigOp,
  AlterConfigOpType,
  AlterConfigsOptions,
  AlterConfigsResource,
  AlterConfigsResult,
  ConfigEntry,
  ConfigResource,
  ConfigResourceResult,
  ConfigResourceType,
  ConfigSource,
  ConfigSynonym,
  ConfigType,
  DescribeConfigsOptions,
} from './admin/configs'
export type {
  DeleteGroupResult,
  DescribeGroupsOptions,
  GroupDescription,
  GroupListing,
  GroupMember,
  GroupOffsets,
  GroupOffsetToCommit,
  GroupOverview,
  GroupPartitionOffset,
  GroupPartitionResult,
  GroupType,
  ListConsumerGroupOffsetsOptions,
  ListConsumerGroupOffsetsSpec,
  ListGroupsOptions,
  RemoveMemberResult,
  TopicPartitionRef,
} from './admin/groups'
export type {
  AlterQuotaResult,
  QuotaAlteration,
  QuotaEntity,
  QuotaEntityType,
  QuotaEntry,
  QuotaFilter,
  QuotaFilterComponent,
  QuotaKey,
} from './admin/quotas'
export type { ItemResult } from './admin/results'
export { AdminItemsError, throwIfFailed } from './admin/results'
export type {
  DescribeShareGroupsOptions,
  ListShareGroupOffsetsSpec,
  ShareGroupDescription,
  ShareGroupMember,
  ShareGroupOffsets,
  ShareGroupOffsetToSet,
  ShareGroupPartitionOffset,
  ShareGroupPartitionResult,
  ShareGroupTopicResult,
} from './admin/share'
export type {
  CreatePartitionsOptions,
  CreateTopicResult,
  CreateTopicsOptions,
  DeletedRecords,
  DeleteRecordsOptions,
  DeleteTopicsOptions,
  DescribeTopicsOptions,
  ListedOffset,
  ListOffsetsOptions,
  ListTopicsOptions,
  NewPartitions,
  NewTopic,
  OffsetQuery,
  OffsetSpec,
  RecordsToDelete,
  TopicDescription,
  TopicPartitionInfo,
  TopicResult,
} from './admin/topics'
export type {
  ClientConfig,
  OAuthBearerProvider,
  OAuthBearerToken,
  ProducerConfig,
  SaslConfig,
  SaslOAuthBearerConfig,
  SaslPasswordConfig,
  SslConfig,
} from './config'
export type { Batch, ConsumerConfig, ConsumerOptions, RunOptions, TopicPartitionOffset } from './consumer'
export { Consumer } from './consumer'
export type { ClientErrorCode, KafkaErrorFields } from './errors'
export { KafkaError } from './errors'
export type { LogConfig, LogFields, Logger, LogLevel, LogNamespace } from './logger'
export type { Deserializer, Header } from './message'
export { deserializers, Message } from './message'
export type {
  ClusterInfo,
  DeliveryCallback,
  Headers,
  ProduceOptions,
  ProducerMessage,
  ProducerRecord,
  ProducerStats,
  RecordMetadata,
  Value,
} from './producer'
export { Producer } from './producer'
export type { Persisted } from './report'
export { DeliveryReport } from './report'
export type { AcknowledgementResult, AcknowledgeType, ShareConsumerConfig, ShareConsumerOptions } from './share'
export { ShareConsumer, ShareMessage } from './share'
