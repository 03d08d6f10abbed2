import type { EventBus } from "../events/index.ts";
import type { Store } from "../store/index.ts";
import type { Clock } from "../time/index.ts";

export interface TenancyDeps {
  store: Store;
  events: EventBus;
  clock: Clock;
}

/** page/per_page as the REST API takes them; lists answer with the total. */
export interface PageRequest {
  page: number;
  perPage: number;
}

export interface PageOf<T> {
  items: T[];
  total: number;
}

export function offsetOf({ page, perPage }: PageRequest): { limit: number; offset: number } {
  return { limit: perPage, offset: (page - 1) * perPage };
}
