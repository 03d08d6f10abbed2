/**
 * Writes the REST API's OpenAPI document (the one served at /v1/openapi.json)
 * to the file named by the first argument, or to stdout. Route definitions
 * need no live dependencies, so the app is built over inert ones.
 */
import { writeFileSync } from "node:fs";
import { createRestApp, type RestDeps } from "../lib/rest/index.ts";
import { openApiDocumentConfig } from "../lib/rest/openapi.ts";
import { systemClock } from "../lib/time/index.ts";

const inert = {
  fleet: { deps: {} },
  delivery: {},
  sessions: { clock: systemClock },
  rateLimitPerMinute: 60,
  peerOf: () => undefined,
  logger: {},
} as unknown as RestDeps;

const document = `${JSON.stringify(createRestApp(inert).getOpenAPIDocument(openApiDocumentConfig), null, 2)}\n`;
const target = process.argv[2];
if (target) writeFileSync(target, document);
else process.stdout.write(document);
