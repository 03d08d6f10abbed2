export {
  type AgentPayload,
  type AlertPayload,
  type AlertSeverity,
  alertSeverities,
  type Changes,
  type DisconnectReason,
  disconnectReasons,
  type EventCatalogue,
  type EventType,
  type ExporterPayload,
  type LeasePayload,
  type MemberPayload,
  type NodeActor,
  noChanges,
  type PublishInput,
  type ScopePayload,
} from "./catalogue.ts";
export type {
  CommittedEvent,
  EventBus,
  EventListener,
  EventTransaction,
  FleetEvent,
} from "./event-bus.ts";
export { createEventBus } from "./event-bus.ts";
export { checkEventFilter, type EventFilter, eventWorkspace, matchesFilter } from "./filter.ts";
export {
  type BatchedCommits,
  batchedCommits,
  createGroupCommit,
  type GroupCommit,
} from "./group-commit.ts";
export { openSubscription, type SubscriptionOptions } from "./subscription.ts";
