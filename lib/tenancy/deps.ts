import type { EventBus } from "../events/index.ts";
import type { Store } from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import { checkPage } from "./config-validate.ts";

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

/** Checks the page as REST bounds it (REST refuses first; gRPC callers meet this) and turns it into rows. */
export function offsetOf(request: PageRequest): { limit: number; offset: number } {
  checkPage(request);
  return { limit: request.perPage, offset: (request.page - 1) * request.perPage };
}
