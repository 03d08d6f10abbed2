/**
 * Writes test/contract/nxmesh-examples.ts from the NxMesh seed: every REST
 * request example (method, path, query, headers, body) with the response
 * example that follows it, the error format and codes, the WebSocket events
 * and subscribe message, and the proto's enums. The contract test replays
 * them; it reads only the written file, since a clone has no seed.
 *
 *   npx bun scripts/extract-nxmesh-examples.ts [SEED]   default ../shared/seeds/002_6d8d7066a7c8f696.txt
 */

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type {
  SeedEventExample,
  SeedExamples,
  SeedJson,
  SeedRestExample,
} from "../test/contract/nxmesh-example-types.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const seedPath = resolve(root, process.argv[2] ?? "../shared/seeds/002_6d8d7066a7c8f696.txt");
const outFile = resolve(root, "test/contract/nxmesh-examples.ts");
const operationLine = /^(GET|POST|PUT|PATCH|DELETE) (\/\S*)$/;

type JsonObject = { [key: string]: SeedJson };

interface Block {
  lang: string;
  lines: string[];
  /** The `##`, `###` and `####` headings it sits under, and the last text line before it. */
  part: string;
  section: string;
  title: string;
  leadIn: string;
  /** Text lines between the previous block and this one. */
  before: string[];
}

/** The seed's text without its noise: a line of `|` alone between every real line. */
function seedLines(text: string): string[] {
  const lines = text.split("\n").filter((line) => line.trim() !== "|");
  const start = lines.findIndex((line) => line.startsWith("# "));
  if (start < 0) throw new Error(`${seedPath}: no "# " title`);
  return lines.slice(start);
}

/** The fenced blocks, each with the headings above it. */
function blocksOf(lines: string[]): { blocks: Block[]; trailing: string[] } {
  const blocks: Block[] = [];
  let part = "";
  let section = "";
  let title = "";
  let before: string[] = [];
  let open: Block | undefined;
  for (const line of lines) {
    if (open) {
      if (line.trim() === "```") {
        blocks.push(open);
        open = undefined;
      } else open.lines.push(line);
      continue;
    }
    const fence = /^```(\w+)$/.exec(line.trim());
    if (fence) {
      const text = before.filter((l) => l.trim() !== "" && !l.startsWith("#"));
      open = {
        lang: fence[1] ?? "",
        lines: [],
        part,
        section,
        title,
        leadIn: text.at(-1) ?? "",
        before,
      };
      before = [];
      continue;
    }
    if (line.startsWith("## ")) [part, section, title] = [line.slice(3).trim(), "", ""];
    else if (line.startsWith("### ")) [section, title] = [line.slice(4).trim(), ""];
    else if (line.startsWith("#### ")) title = line.slice(5).trim();
    before.push(line);
  }
  if (open) throw new Error(`unclosed block under "${open.title}"`);
  return { blocks, trailing: before };
}

function parseJson(lines: string[], where: string): SeedJson {
  try {
    return JSON.parse(lines.join("\n")) as SeedJson;
  } catch (error) {
    throw new Error(`${where}: not JSON (${String(error)})`);
  }
}

function asObject(value: SeedJson, where: string): JsonObject {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${where}: not a JSON object`);
  }
  return value;
}

/** The "- `name` - text" list under "Query Parameters:" in the text after a request. */
function queryParametersIn(text: string[]): SeedRestExample["queryParameters"] {
  const at = text.findIndex((line) => line.trim() === "Query Parameters:");
  if (at < 0) return undefined;
  const parameters: NonNullable<SeedRestExample["queryParameters"]> = [];
  for (const line of text.slice(at + 1)) {
    const item = /^- `([^`]+)` - (.*)$/.exec(line.trim());
    if (!item) break;
    const [, name = "", description = ""] = item;
    const quoted = [...description.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? "");
    parameters.push({ name, text: description, quoted });
  }
  return parameters;
}

function restExample(block: Block): SeedRestExample {
  const [first = "", ...rest] = block.lines;
  const request = operationLine.exec(first.trim());
  if (!request) throw new Error(`"${block.title}": "${first}" is not METHOD /path`);
  const [, method = "", target = ""] = request;
  const [path = "", query = ""] = target.split("?", 2);
  const headers: Record<string, string> = {};
  // Headers run up to the body (the seed's copy lost the blank line between them).
  let at = 0;
  for (; at < rest.length; at++) {
    const header = /^([\w-]+): (.*)$/.exec((rest[at] ?? "").trim());
    if (!header) break;
    headers[header[1] ?? ""] = header[2] ?? "";
  }
  const bodyLines = rest.slice(at).filter((line) => line.trim() !== "");
  return {
    operation: `${method} ${path}`,
    section: block.section,
    title: block.title,
    method,
    path,
    query,
    headers,
    ...(bodyLines.length > 0 ? { body: parseJson(bodyLines, block.title) } : {}),
  };
}

/** Enums (without their *_UNSPECIFIED value) and commented value lists of the proto block. */
function protoFacts(lines: string[]): Pick<SeedExamples, "protoEnums" | "protoFieldValues"> {
  const protoEnums: Record<string, string[]> = {};
  const protoFieldValues: Record<string, string[]> = {};
  let message = "";
  let enumName: string | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    const opens = /^(message|enum) (\w+) \{/.exec(line);
    if (opens) {
      if (opens[1] === "enum") enumName = opens[2] ?? "";
      else message = opens[2] ?? "";
      if (enumName !== undefined) protoEnums[enumName] = [];
      continue;
    }
    if (line === "}") {
      enumName = undefined;
      continue;
    }
    const value = /^(\w+) = \d+;/.exec(line);
    if (enumName !== undefined && value && !value[1]?.endsWith("_UNSPECIFIED")) {
      protoEnums[enumName]?.push(value[1] ?? "");
      continue;
    }
    const commented = /^\w+ (\w+) = \d+; \/\/ (\w+(?:, \w+)+)$/.exec(line);
    if (commented) protoFieldValues[`${message}.${commented[1]}`] = commented[2]?.split(", ") ?? [];
  }
  return { protoEnums, protoFieldValues };
}

function extract(text: string): SeedExamples {
  const lines = seedLines(text);
  const { blocks } = blocksOf(lines);
  const rest: SeedRestExample[] = [];
  const events: SeedEventExample[] = [];
  let errorExample: JsonObject | undefined;
  let subscribe: JsonObject | undefined;
  let url: string | undefined;
  let proto: Pick<SeedExamples, "protoEnums" | "protoFieldValues"> | undefined;
  for (const block of blocks) {
    const where = `${block.part} / ${block.title || block.section}`;
    if (block.lang === "http") {
      // Query parameters are listed between a request and its response example, never elsewhere.
      if (queryParametersIn(block.before)) throw new Error(`${where}: query parameters lost`);
      rest.push(restExample(block));
    } else if (block.part === "REST API" && block.lang === "json") {
      const example = rest.at(-1);
      if (!example || example.title !== block.title || example.response !== undefined) {
        throw new Error(`${where}: a response example with no request before it`);
      }
      const parameters = queryParametersIn(block.before);
      if (parameters) example.queryParameters = parameters;
      example.response = parseJson(block.lines, where);
      if (block.leadIn !== "Response:") example.responseNote = block.leadIn;
    } else if (block.part === "Error Responses" && block.lang === "json") {
      errorExample = asObject(parseJson(block.lines, where), where);
    } else if (block.part.startsWith("gRPC") && block.lang === "protobuf") {
      proto = protoFacts(block.lines);
    } else if (block.part === "WebSocket API" && block.lang === "javascript") {
      url = /new WebSocket\('([^']+)'\)/.exec(block.lines.join("\n"))?.[1];
    } else if (block.part === "WebSocket API" && block.section === "Event Types") {
      events.push({ title: block.title, message: asObject(parseJson(block.lines, where), where) });
    } else if (block.part === "WebSocket API" && block.section === "Subscribing to Events") {
      subscribe = asObject(parseJson(block.lines, where), where);
    } else throw new Error(`${where}: a ${block.lang} block this script does not know`);
  }
  const codes = lines
    .map((line) => /^\| `([A-Z_]+)` \| (\d{3}) \| (.+) \|$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map(([, code = "", status = "", description = ""]) => ({
      code,
      status: Number(status),
      description,
    }));
  const baseUrl = lines
    .map((line) => /^\| Base URL \| `([^`]+)` \|$/.exec(line.trim())?.[1])
    .find((found) => found !== undefined);
  if (!errorExample || !subscribe || !url || !proto || !baseUrl || codes.length === 0) {
    throw new Error(
      "the seed lacks its error example, codes, base URL, WebSocket URL, subscribe or proto",
    );
  }
  return {
    source: { file: basename(seedPath), sha256: createHash("sha256").update(text).digest("hex") },
    baseUrl,
    rest,
    errors: { example: errorExample, codes },
    websocket: { url, events, subscribe },
    ...proto,
  };
}

const text = readFileSync(seedPath, "utf8");
const examples = extract(text);
// Counted apart from the block parser: every `METHOD /path` line of the seed.
const headings = seedLines(text).filter((line) => operationLine.test(line.trim())).length;
if (headings !== examples.rest.length) {
  throw new Error(
    `the seed has ${headings} METHOD /path lines, the fixture ${examples.rest.length}`,
  );
}
writeFileSync(
  outFile,
  `// Generated by scripts/extract-nxmesh-examples.ts from the NxMesh seed: do not edit.
import type { SeedExamples } from "./nxmesh-example-types.ts";

export const nxmeshExamples: SeedExamples = ${JSON.stringify(examples, null, 2)};
`,
);
const formatted = spawnSync("npx", ["biome", "format", "--write", outFile], { cwd: root });
if (formatted.status !== 0) throw new Error(`biome format: ${formatted.stderr.toString()}`);
const withResponse = examples.rest.filter((example) => example.response !== undefined).length;
console.log(
  `${examples.rest.length} REST operations (${headings} METHOD /path lines in the seed; ${withResponse} with a response example), ` +
    `${examples.websocket.events.length} WebSocket events, ${examples.errors.codes.length} error codes → ${outFile}`,
);
