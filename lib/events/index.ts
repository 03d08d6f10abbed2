export type { EventBus, EventListener, FleetEvent, PublishInput } from "./event-bus.ts";
export { createEventBus } from "./event-bus.ts";
