import { expect } from "bun:test";
import type { HttpResult, httpsClient } from "../support/https-client.ts";
import type { SeedJson, SeedRestExample } from "./nxmesh-example-types.ts";
import { nxmeshExamples as seed } from "./nxmesh-examples.ts";
import { type ShapeRules, shapeMismatches } from "./seed-shape.ts";

type Json = Record<string, unknown>;

/**
 * The seed's paths are relative to its base URL, which ends in /v1; Drover
 * serves the API under /v1 only. This is the one place the base is put in front.
 */
export const basePath = new URL(seed.baseUrl).pathname;

export function example(operation: string): SeedRestExample {
  const found = seed.rest.find((candidate) => candidate.operation === operation);
  if (!found) throw new Error(`the seed has no ${operation}`);
  return found;
}

export function responseOf(operation: string): SeedJson {
  const { response } = example(operation);
  if (response === undefined) throw new Error(`the seed gives no response to ${operation}`);
  return response;
}

/** The seed shows each resource once, in its list: its creates, gets and patches answer that object. */
export function itemOf(listOperation: string): SeedJson {
  const [first] = (responseOf(listOperation) as { data: SeedJson[] }).data;
  if (first === undefined) throw new Error(`the seed's ${listOperation} lists nothing`);
  return first;
}

/** `body` with the seed's ids swapped as `swaps` says, then top-level `fields` set. */
export function substituted(
  body: SeedJson | undefined,
  swaps: Record<string, string>,
  fields: Json = {},
): Json {
  let text = JSON.stringify(body ?? {});
  for (const [from, to] of Object.entries(swaps)) {
    text = text.replaceAll(JSON.stringify(from), JSON.stringify(to));
  }
  return { ...(JSON.parse(text) as Json), ...fields };
}

/** The answer has `status` and the seed's shape; returns its body. */
export function expectShape(
  answer: HttpResult,
  status: number,
  shape: SeedJson,
  rules?: ShapeRules,
): Json {
  expect({
    status: answer.status,
    mismatches: shapeMismatches(shape, answer.body, rules),
    ...(answer.status === status ? {} : { body: answer.body }),
  }).toEqual({ status, mismatches: [] });
  return answer.body as Json;
}

const errorRules: ShapeRules = { enums: { "error.code": seed.errors.codes.map((c) => c.code) } };

/** The seed's error format, with the HTTP status the seed's table gives `code`; returns `error`. */
export function expectError(answer: HttpResult, code: string): Json {
  const status = seed.errors.codes.find((row) => row.code === code)?.status;
  if (status === undefined) throw new Error(`the seed has no error code ${code}`);
  const body = expectShape(answer, status, seed.errors.example, errorRules);
  expect((body.error as Json).code).toBe(code);
  return body.error as Json;
}

/**
 * Replays the seed's REST examples through `call`, as the holder of `token()`,
 * and keeps which operations and event types were checked.
 */
export function seedReplay(call: ReturnType<typeof httpsClient>, token: () => string) {
  /** The seed's placeholders (`organization_id`, …) and the ids this server gave. */
  const ids: Record<string, string> = {};
  const replayed = new Set<string>();
  const checkedEvents = new Set<string>();

  /**
   * Sends the seed's example of `operation`: its path with this server's ids,
   * its query as written, its body as written unless `body` replaces it, and the
   * bearer token where the seed sends `Authorization`.
   */
  function replay(operation: string, body?: SeedJson | Json): Promise<HttpResult> {
    const { method, path, query, headers, body: seedBody } = example(operation);
    const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const id = ids[name];
      if (id === undefined) throw new Error(`${operation}: no ${name} yet`);
      return id;
    });
    replayed.add(operation);
    const sent = body ?? seedBody;
    return call(method, `${basePath}${filled}${query === "" ? "" : `?${query}`}`, {
      ...(headers.Authorization === undefined ? {} : { token: token() }),
      ...(sent === undefined ? {} : { body: sent }),
    });
  }

  /** The seed's list `operation` replayed: the seed's shape, and `meta` echoing its page, per_page or limit. */
  async function expectList(operation: string, rules?: ShapeRules): Promise<Json> {
    const body = expectShape(await replay(operation), 200, responseOf(operation), rules);
    const asked = new URLSearchParams(example(operation).query);
    const paging = ["page", "per_page", "limit"].filter((key) => asked.has(key));
    const meta = body.meta as Json;
    expect(paging.map((key) => [key, meta[key]])).toEqual(
      paging.map((key) => [key, Number(asked.get(key))]),
    );
    return body;
  }

  /** Deleted: 204, and the resource answers 404 in the seed's error format afterwards. */
  async function expectDeleted(deleteOperation: string, getOperation: string): Promise<void> {
    expect((await replay(deleteOperation)).status).toBe(204);
    expectError(await replay(getOperation), "NOT_FOUND");
  }

  /** The seed's example of the event `type`, held against `message`. */
  function expectEvent(message: Json, type: string, rules?: ShapeRules): void {
    const found = seed.websocket.events.find((event) => event.message.type === type);
    if (!found) throw new Error(`the seed has no event ${type}`);
    expect(message.type).toBe(type);
    expect(shapeMismatches(found.message, message, rules)).toEqual([]);
    checkedEvents.add(type);
  }

  return { ids, replayed, checkedEvents, replay, expectList, expectDeleted, expectEvent };
}
