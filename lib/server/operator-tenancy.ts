import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { operatorPrincipal, type Principal } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import {
  checkEventFilter,
  type FleetEvent,
  matchesFilter,
  openSubscription,
} from "../events/index.ts";
import type { Fleet } from "../fleet/index.ts";
import type { OperatorService } from "../gen/drover/v1/operator_pb.ts";
import { createChannel } from "../tasks/index.ts";
import {
  createOrganization,
  createWorkspace,
  deleteOrganization,
  deleteWorkspace,
  getOrganization,
  getWorkspace,
  listOrganizations,
  listWorkspaces,
  type PageOf,
  type PageRequest,
  type TenancyDeps,
  updateAgentFor,
  updateOrganization,
  updateWorkspace,
} from "../tenancy/index.ts";
import {
  agentToProto,
  eventToProto,
  organizationToProto,
  workspaceInputFromProto,
  workspacePatchFromProto,
  workspaceToProto,
} from "../wire/index.ts";
import { peerKey } from "./peer.ts";

type TenancyMethods = Pick<
  ServiceImpl<typeof OperatorService>,
  | "listOrganizations"
  | "createOrganization"
  | "getOrganization"
  | "updateOrganization"
  | "deleteOrganization"
  | "listWorkspaces"
  | "createWorkspace"
  | "getWorkspace"
  | "updateWorkspace"
  | "deleteWorkspace"
  | "updateAgent"
  | "watchEvents"
>;

/*
 * The operator service's handlers only convert: each calls a tenancy function
 * as the calling operator (a fleet-wide owner) and turns its result into the
 * response. The helpers below serve operator-config.ts too.
 */

export function principalOf(context: HandlerContext): Principal {
  const peer = context.values.get(peerKey);
  if (!peer) throw new Error("operator service mounted without requireRole");
  return operatorPrincipal(peer.identity.id);
}

/** Zero means "not given" in proto3; REST's defaults apply. */
export function page(request: PageRequest): PageRequest {
  return { page: request.page || 1, perPage: request.perPage || 20 };
}

/** A response's one field, typed by its literal name. */
function field<K extends string, V>(key: K, value: V): Record<K, V> {
  // A computed key widens to an index signature; the object has exactly this key.
  return { [key]: value } as Record<K, V>;
}

/** A tenancy function: its own arguments follow the deps and the principal. */
type TenancyCall<Args extends unknown[], Result> = (
  deps: TenancyDeps,
  principal: Principal,
  ...args: Args
) => Promise<Result>;

/**
 * Handler builders for one resource's tenancy functions. A row becomes the
 * response field `one`; a page, the plural field (`one` and an s, as the
 * proto names every list here) and the total. Lists and creates take their
 * owner's id from the request field `parent`, the rest the request's id.
 */
export function resourceHandlers<Row, Proto, One extends string>(
  deps: TenancyDeps,
  one: One,
  toProto: (row: Row) => Proto,
) {
  const many = `${one}s` as const;
  const reply = (row: Row) => field(one, toProto(row));
  return {
    list:
      <K extends string>(list: TenancyCall<[string, PageRequest], PageOf<Row>>, parent: K) =>
      async (request: Record<K, string> & PageRequest, context: HandlerContext) => {
        const result = await list(deps, principalOf(context), request[parent], page(request));
        return { ...field(many, result.items.map(toProto)), total: result.total };
      },
    create:
      <K extends string, Request extends Record<K, string>, Input>(
        create: TenancyCall<[string, Input], Row>,
        parent: K,
        input: (request: Request) => Input,
      ) =>
      async (request: Request, context: HandlerContext) =>
        reply(await create(deps, principalOf(context), request[parent], input(request))),
    get:
      (get: TenancyCall<[string], Row>) =>
      async (request: { id: string }, context: HandlerContext) =>
        reply(await get(deps, principalOf(context), request.id)),
    update:
      <Request extends { id: string }, Patch>(
        update: TenancyCall<[string, Patch], Row>,
        patch: (request: Request) => Patch,
      ) =>
      async (request: Request, context: HandlerContext) =>
        reply(await update(deps, principalOf(context), request.id, patch(request))),
    delete:
      (remove: TenancyCall<[string], void>) =>
      async (request: { id: string }, context: HandlerContext) => {
        await remove(deps, principalOf(context), request.id);
        return {};
      },
  };
}

/** Organizations are written as a name and a slug; absent stays absent. */
function nameAndSlug<R extends { name?: string; slug?: string }>(
  request: R,
): Pick<R, "name" | "slug"> {
  return { name: request.name, slug: request.slug };
}

/** A watcher this far behind is cut off; it resumes with after_seq. */
const maxQueued = 10_000;

/** Turns the push subscription into the pull stream Connect writes, ending with the call. */
async function* watch(
  fleet: Fleet,
  filter: { types: string[]; workspaceId?: string },
  after: number | undefined,
  signal: AbortSignal,
): AsyncIterable<FleetEvent> {
  const channel = createChannel<FleetEvent>(signal);
  const close = openSubscription(fleet.deps.events, fleet.deps.store, {
    after,
    accepts: (event) => matchesFilter(filter, event),
    deliver: (event) => {
      if (channel.size < maxQueued) channel.push(event);
      else
        channel.close(
          new DroverError("resource_exhausted", "watcher too far behind; reconnect with after_seq"),
        );
    },
    onError: (error) => channel.close(error),
  });
  try {
    yield* channel;
  } finally {
    close();
  }
}

export function operatorTenancyMethods(fleet: Fleet): TenancyMethods {
  const deps = fleet.deps;
  const organizations = resourceHandlers(deps, "organization", organizationToProto);
  const workspaces = resourceHandlers(deps, "workspace", workspaceToProto);
  return {
    // Organizations have no owner: their list and create take no parent.
    async listOrganizations(request, context) {
      const result = await listOrganizations(deps, principalOf(context), page(request));
      return { organizations: result.items.map(organizationToProto), total: result.total };
    },
    async createOrganization(request, context) {
      const row = await createOrganization(deps, principalOf(context), nameAndSlug(request));
      return { organization: organizationToProto(row) };
    },
    getOrganization: organizations.get(getOrganization),
    updateOrganization: organizations.update(updateOrganization, nameAndSlug),
    deleteOrganization: organizations.delete(deleteOrganization),
    listWorkspaces: workspaces.list(listWorkspaces, "organizationId"),
    createWorkspace: workspaces.create(createWorkspace, "organizationId", workspaceInputFromProto),
    getWorkspace: workspaces.get(getWorkspace),
    updateWorkspace: workspaces.update(updateWorkspace, workspacePatchFromProto),
    deleteWorkspace: workspaces.delete(deleteWorkspace),
    async updateAgent(request, context) {
      const row = await updateAgentFor(fleet, principalOf(context), request.id, {
        name: request.name,
        labels: request.labels?.values,
        workspaceId: request.workspaceId,
      });
      return { agent: agentToProto(row) };
    },
    async *watchEvents(request, context) {
      const filter = { types: request.types, workspaceId: request.workspaceId || undefined };
      checkEventFilter(filter);
      if (filter.workspaceId) await getWorkspace(deps, principalOf(context), filter.workspaceId);
      const after = request.afterSeq === undefined ? undefined : Number(request.afterSeq);
      for await (const event of watch(fleet, filter, after, context.signal)) {
        yield eventToProto(event);
      }
    },
  };
}
