import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Principal } from "../../auth/index.ts";
import type { Exporter, LeaseService } from "../../lease/index.ts";
import type { RestEnv } from "../env.ts";
import { ExporterJson, exporterJson } from "../lease-schemas.ts";
import { type ApiTag, errorResponses, idParams, json, pageOf } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { PageQuery, pageMeta } from "../schemas.ts";

const tags: ApiTag[] = ["Exporters"];

/** The holder of each leased exporter, read through the lease service (which authorizes). */
async function holders(
  leases: LeaseService,
  principal: Principal,
  exporters: Exporter[],
): Promise<Map<string, string>> {
  const leased = exporters.filter((exporter) => exporter.leaseName !== undefined);
  if (leased.length === 0) return new Map();
  if (leased.length === 1) {
    const lease = await leases.get(principal, leased[0]?.leaseName as string);
    return new Map([[lease.name, lease.client]]);
  }
  const workspaceIds = new Set(leased.map((exporter) => exporter.workspaceId ?? ""));
  const all = await Promise.all(
    [...workspaceIds].map((workspaceId) => leases.list(principal, { workspaceId })),
  );
  return new Map(all.flat().map((lease) => [lease.name, lease.client]));
}

/** Exporters: agents that run with --exporter, their drivers, status and holder. */
export function exporterRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const { leases } = deps;
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}/exporters",
      operationId: "listExporters",
      tags,
      summary: "List a workspace's exporters",
      description:
        "Every agent of the workspace that registered as an exporter, in id order: its operator-set labels (what lease selectors match), status, holder and driver reports.",
      request: { params: idParams("workspace_id"), query: PageQuery },
      responses: { 200: json(pageOf(ExporterJson), "A page of exporters"), ...errorResponses },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const principal = c.get("principal");
      const all = await leases.listExporters(principal, c.req.valid("param").workspace_id);
      const start = (query.page - 1) * query.per_page;
      const page = all.slice(start, start + query.per_page);
      const holderOf = await holders(leases, principal, page);
      return c.json(
        {
          data: page.map((exporter) =>
            exporterJson(exporter, holderOf.get(exporter.leaseName ?? "")),
          ),
          meta: pageMeta(query, all.length),
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/exporters/{exporter_id}",
      operationId: "getExporter",
      tags,
      summary: "Get an exporter",
      description:
        "Its status (`LeaseReady` once the holder may drive it), the lease holding it and its holder, the last fencing token granted, and its driver reports.",
      request: { params: idParams("exporter_id") },
      responses: { 200: json(ExporterJson, "The exporter"), ...errorResponses },
    }),
    async (c) => {
      const principal = c.get("principal");
      const exporter = await leases.getExporter(principal, c.req.valid("param").exporter_id);
      const holderOf = await holders(leases, principal, [exporter]);
      return c.json(exporterJson(exporter, holderOf.get(exporter.leaseName ?? "")), 200);
    },
  );
}
