import type { JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
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
import {
  createOrganization,
  createWorkspace,
  deleteOrganization,
  deleteWorkspace,
  getOrganization,
  getWorkspace,
  listOrganizations,
  listWorkspaces,
  updateAgentFor,
  updateOrganization,
  updateWorkspace,
} from "../tenancy/index.ts";
import { agentToProto, organizationToProto, workspaceToProto } from "../wire/index.ts";
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

function principalOf(context: HandlerContext): Principal {
  const peer = context.values.get(peerKey);
  if (!peer) throw new Error("operator service mounted without requireRole");
  return operatorPrincipal(peer.identity.id);
}

/** Zero means "not given" in proto3; REST's defaults apply. */
function page(request: { page: number; perPage: number }) {
  return { page: request.page || 1, perPage: request.perPage || 20 };
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
  const queue: FleetEvent[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  const close = openSubscription(fleet.deps.events, fleet.deps.store, {
    after,
    accepts: (event) => matchesFilter(filter, event),
    deliver: (event) => {
      queue.push(event);
      wake?.();
    },
    onError: (error) => {
      failure = error;
      wake?.();
    },
  });
  const aborted = () => wake?.();
  signal.addEventListener("abort", aborted);
  try {
    while (!signal.aborted) {
      if (failure) throw failure;
      if (queue.length > maxQueued) {
        throw new DroverError(
          "resource_exhausted",
          "watcher too far behind; reconnect with after_seq",
        );
      }
      const next = queue.shift();
      if (next) yield next;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal.removeEventListener("abort", aborted);
    close();
  }
}

export function operatorTenancyMethods(fleet: Fleet): TenancyMethods {
  const deps = fleet.deps;
  return {
    async listOrganizations(request, context) {
      const result = await listOrganizations(deps, principalOf(context), page(request));
      return { organizations: result.items.map(organizationToProto), total: result.total };
    },
    async createOrganization(request, context) {
      const row = await createOrganization(deps, principalOf(context), {
        name: request.name,
        slug: request.slug,
      });
      return { organization: organizationToProto(row) };
    },
    async getOrganization(request, context) {
      return {
        organization: organizationToProto(
          await getOrganization(deps, principalOf(context), request.id),
        ),
      };
    },
    async updateOrganization(request, context) {
      const row = await updateOrganization(deps, principalOf(context), request.id, {
        name: request.name,
        slug: request.slug,
      });
      return { organization: organizationToProto(row) };
    },
    async deleteOrganization(request, context) {
      await deleteOrganization(deps, principalOf(context), request.id);
      return {};
    },
    async listWorkspaces(request, context) {
      const result = await listWorkspaces(
        deps,
        principalOf(context),
        request.organizationId,
        page(request),
      );
      return { workspaces: result.items.map(workspaceToProto), total: result.total };
    },
    async createWorkspace(request, context) {
      const row = await createWorkspace(deps, principalOf(context), request.organizationId, {
        name: request.name,
        slug: request.slug,
      });
      return { workspace: workspaceToProto(row) };
    },
    async getWorkspace(request, context) {
      return {
        workspace: workspaceToProto(await getWorkspace(deps, principalOf(context), request.id)),
      };
    },
    async updateWorkspace(request, context) {
      const row = await updateWorkspace(deps, principalOf(context), request.id, {
        name: request.name,
        slug: request.slug,
      });
      return { workspace: workspaceToProto(row) };
    },
    async deleteWorkspace(request, context) {
      await deleteWorkspace(deps, principalOf(context), request.id);
      return {};
    },
    async updateAgent(request, context) {
      const row = await updateAgentFor(fleet, principalOf(context), request.id, {
        name: request.name,
        labels: request.labels?.values,
      });
      return { agent: agentToProto(row) };
    },
    async *watchEvents(request, context) {
      const filter = { types: request.types, workspaceId: request.workspaceId || undefined };
      checkEventFilter(filter);
      if (filter.workspaceId) await getWorkspace(deps, principalOf(context), filter.workspaceId);
      const after = request.afterSeq === undefined ? undefined : Number(request.afterSeq);
      for await (const event of watch(fleet, filter, after, context.signal)) {
        yield {
          seq: BigInt(event.seq),
          type: event.type,
          subjectId: event.subjectId,
          at: timestampFromDate(event.at),
          data: (event.data ?? {}) as JsonObject,
        };
      }
    },
  };
}
