export type { EventBus, EventListener, FleetEvent, PublishInput } from "./event-bus.ts";
export { createEventBus } from "./event-bus.ts";
export { checkEventFilter, type EventFilter, eventWorkspace, matchesFilter } from "./filter.ts";
export { openSubscription, type SubscriptionOptions } from "./subscription.ts";
