import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import {
  createCertificate,
  deleteCertificate,
  getCertificate,
  listCertificates,
  renewCertificate,
} from "../../tenancy/index.ts";
import {
  Certificate,
  CertificateCreate,
  certificateInput,
  certificateJson,
} from "../config-schemas.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, idParams, json, jsonBody, noContent } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { pagedChildListRoute } from "./paged.ts";

const Renewal = z
  .object({ certificate_id: z.string(), agents: z.number().int() })
  .openapi("CertificateRenewal");

const tags: ApiTag[] = ["Certificates"];
const workspaceParams = idParams("workspace_id");
const certificateParams = idParams("certificate_id");

export function certificateRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const tenancy = deps.fleet.deps;
  pagedChildListRoute(app, {
    path: "/workspaces/{workspace_id}/certificates",
    operationId: "listCertificates",
    tags,
    summary: "List a workspace's TLS certificates",
    description: "Pages through a workspace's TLS certificates with their state and expiry.",
    idParam: "workspace_id",
    item: Certificate,
    pageDescription: "A page of certificates",
    list: (principal, workspaceId, page) => listCertificates(tenancy, principal, workspaceId, page),
    toJson: certificateJson,
  });
  app.openapi(
    createRoute({
      method: "post",
      path: "/workspaces/{workspace_id}/certificates",
      operationId: "createCertificate",
      tags,
      summary: "Request a TLS certificate",
      description:
        "From the internal sites CA or from an ACME CA; it stays pending until issued. The private key is generated on each agent that serves it and never leaves it.",
      request: { params: workspaceParams, ...jsonBody(CertificateCreate) },
      responses: { 201: json(Certificate, "Requested"), ...errorResponses },
    }),
    async (c) => {
      const created = await createCertificate(
        tenancy,
        c.get("principal"),
        c.req.valid("param").workspace_id,
        certificateInput(c.req.valid("json")),
      );
      return c.json(certificateJson(created), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/certificates/{certificate_id}",
      operationId: "getCertificate",
      tags,
      summary: "Get a TLS certificate",
      description:
        "A certificate the caller cannot see answers 404. Private keys are never returned.",
      request: { params: certificateParams },
      responses: { 200: json(Certificate, "The certificate"), ...errorResponses },
    }),
    async (c) =>
      c.json(
        certificateJson(
          await getCertificate(tenancy, c.get("principal"), c.req.valid("param").certificate_id),
        ),
        200,
      ),
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/certificates/{certificate_id}",
      operationId: "deleteCertificate",
      tags,
      summary: "Delete a TLS certificate",
      description: "Refused with 409 while a virtual host uses it.",
      request: { params: certificateParams },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      await deleteCertificate(tenancy, c.get("principal"), c.req.valid("param").certificate_id);
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/certificates/{certificate_id}/renew",
      operationId: "renewCertificate",
      tags,
      summary: "Renew a TLS certificate now",
      description:
        "Every connected agent that holds the certificate generates a new key and gets a new certificate.",
      request: { params: certificateParams },
      responses: { 200: json(Renewal, "How many agents renew"), ...errorResponses },
    }),
    async (c) => {
      const id = c.req.valid("param").certificate_id;
      const agents = await renewCertificate(tenancy, c.get("principal"), id, (certificateId) =>
        deps.delivery.renewCertificate(certificateId),
      );
      return c.json({ certificate_id: id, agents }, 200);
    },
  );
}
