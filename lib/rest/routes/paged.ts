import { createRoute, type OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import type { Principal } from "../../auth/index.ts";
import type { PageOf, PageRequest } from "../../tenancy/index.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, idParams, json, pageOf } from "../openapi.ts";
import { PageQuery, pageMeta } from "../schemas.ts";

/** What a paged list route states of its own; the query, the page answered and the errors are alike. */
interface PagedList<Row> {
  path: string;
  operationId: string;
  tags: ApiTag[];
  summary: string;
  description: string;
  item: ZodType;
  /** The 200 response's description, e.g. "A page of members". */
  pageDescription: string;
  toJson: (row: Row) => unknown;
}

/** A list of everything the caller may see: no path parameters. */
interface TopLevelList<Row> extends PagedList<Row> {
  list: (principal: Principal, page: PageRequest) => Promise<PageOf<Row>>;
}

/** A list under one parent, whose id is the path parameter `idParam`. */
interface ChildList<Row, Param extends string> extends PagedList<Row> {
  idParam: Param;
  list: (principal: Principal, parentId: string, page: PageRequest) => Promise<PageOf<Row>>;
}

type PageQueryValue = { page: number; per_page: number };

/** The route as the OpenAPI document shows it. */
function definition<Row, Request extends RouteConfig["request"]>(
  route: PagedList<Row>,
  request: Request,
) {
  return createRoute({
    method: "get",
    path: route.path,
    operationId: route.operationId,
    tags: route.tags,
    summary: route.summary,
    description: route.description,
    request,
    responses: { 200: json(pageOf(route.item), route.pageDescription), ...errorResponses },
  });
}

function pageRequest(query: PageQueryValue): PageRequest {
  return { page: query.page, perPage: query.per_page };
}

function pageJson<Row>(route: PagedList<Row>, query: PageQueryValue, page: PageOf<Row>) {
  return { data: page.items.map(route.toJson), meta: pageMeta(query, page.total) };
}

/** Registers `GET path` paging with `page` and `per_page` through everything the caller may see. */
export function pagedListRoute<Row>(app: OpenAPIHono<RestEnv>, route: TopLevelList<Row>): void {
  app.openapi(definition(route, { query: PageQuery }), async (c) => {
    const query = c.req.valid("query");
    const page = await route.list(c.get("principal"), pageRequest(query));
    return c.json(pageJson(route, query, page), 200);
  });
}

/** Registers `GET path` paging with `page` and `per_page` through the children of one parent. */
export function pagedChildListRoute<Row, Param extends string>(
  app: OpenAPIHono<RestEnv>,
  route: ChildList<Row, Param>,
): void {
  const request = { params: idParams(route.idParam), query: PageQuery };
  app.openapi(definition(route, request), async (c) => {
    const query = c.req.valid("query");
    // idParams(idParam) validated it as a string; zod's types cannot show that for a generic name.
    const parentId = (c.req.valid("param") as Record<Param, string>)[route.idParam];
    const page = await route.list(c.get("principal"), parentId, pageRequest(query));
    return c.json(pageJson(route, query, page), 200);
  });
}
