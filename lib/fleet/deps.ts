import type { EventBus } from "../events/index.ts";
import type { Store } from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import type { FleetAuthority } from "./authority.ts";

/** What every fleet operation is allowed to touch. */
export interface FleetDeps {
  store: Store;
  events: EventBus;
  authority: FleetAuthority;
  clock: Clock;
  settings: FleetSettings;
}

export interface FleetSettings {
  /** Lifetime of client certificates issued at registration and renewal. */
  certificateLifetimeMs: number;
  /** How often agents report health; three missed reports mean offline. */
  heartbeatIntervalMs: number;
  /** How often reports held in memory are written to the store; default 1000. */
  heartbeatFlushIntervalMs?: number;
}
