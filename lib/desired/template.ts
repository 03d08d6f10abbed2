/**
 * The template language of env files, deliberately tiny: text with
 * placeholders, nothing else — no expressions, no defaults, no loops.
 *
 * - `${agent.id}`, `${agent.name}`, `${agent.hostname}`, `${agent.ip}`: the
 *   agent's own fields;
 * - `${labels.KEY}`: the agent's label KEY (a label key as lib/selector takes
 *   it); an agent without that label renders the empty string, so one
 *   template can serve agents that differ in their labels;
 * - `${secret.NAME}`: the content of the secret file named NAME in the same
 *   workspace;
 * - `$$`: a literal `$`.
 *
 * Any other `$` — a lone one, an unknown or unterminated placeholder — is
 * refused when the template is written, so what is stored always parses.
 * Values are inserted verbatim (a value holding `$`, `}` or newlines stays as
 * it is) and never expanded again.
 */
import { DroverError, invalidField } from "../errors/index.ts";
import { isValidKey } from "../selector/index.ts";

export type AgentField = "id" | "name" | "hostname" | "ip";

export type TemplatePart =
  | { kind: "text"; text: string }
  | { kind: "agent"; field: AgentField }
  | { kind: "label"; key: string }
  | { kind: "secret"; name: string };

/** What a template is rendered with, for one agent. */
export interface TemplateContext {
  agent: Readonly<Record<AgentField, string>>;
  labels: Readonly<Record<string, string>>;
  /** The workspace's secrets: name → content. */
  secrets: Readonly<Record<string, string>>;
}

const agentFields: readonly string[] = ["id", "name", "hostname", "ip"];
const fileName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * Whether a name can be an agent file's: 1-100 letters, digits, `.`, `_` or
 * `-`, starting with a letter or digit — what `${secret.NAME}` can name.
 */
export function isFileName(name: string): boolean {
  return fileName.test(name);
}

/** `line L, column C` (1-based) of an index into text. */
function position(text: string, index: number): string {
  const before = text.slice(0, index);
  const line = before.split("\n").length;
  const column = index - before.lastIndexOf("\n");
  return `line ${line}, column ${column}`;
}

function placeholder(body: string): TemplatePart | undefined {
  const dot = body.indexOf(".");
  const scope = body.slice(0, dot);
  const rest = body.slice(dot + 1);
  if (dot === -1 || rest === "") return undefined;
  if (scope === "agent" && agentFields.includes(rest)) {
    return { kind: "agent", field: rest as AgentField };
  }
  if (scope === "labels" && isValidKey(rest)) return { kind: "label", key: rest };
  if (scope === "secret" && isFileName(rest)) return { kind: "secret", name: rest };
  return undefined;
}

const shown = (text: string) => (text.length > 60 ? `${text.slice(0, 60)}…` : text);

/**
 * The template's parts, in order; invalid_argument naming `field` and the
 * line and column of the first thing it cannot read.
 */
export function parseTemplate(template: string, field = "content"): TemplatePart[] {
  if (typeof template !== "string") throw invalidField(field, "must be a string");
  const parts: TemplatePart[] = [];
  let text = "";
  let i = 0;
  for (;;) {
    const dollar = template.indexOf("$", i);
    if (dollar === -1) break;
    text += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === "$") {
      text += "$";
      i = dollar + 2;
      continue;
    }
    const at = position(template, dollar);
    if (next !== "{") {
      throw invalidField(
        field,
        `${at}: a lone "$"; write "$$" for a literal "$", or a placeholder such as \${agent.name}`,
      );
    }
    const close = template.indexOf("}", dollar + 2);
    if (close === -1) throw invalidField(field, `${at}: "\${" without its closing "}"`);
    const body = template.slice(dollar + 2, close);
    const part = placeholder(body);
    if (part === undefined) {
      throw invalidField(
        field,
        `${at}: unknown placeholder \${${shown(body)}}; known: \${agent.id}, \${agent.name}, \${agent.hostname}, \${agent.ip}, \${labels.KEY}, \${secret.NAME}`,
      );
    }
    if (text !== "") parts.push({ kind: "text", text });
    text = "";
    parts.push(part);
    i = close + 1;
  }
  text += template.slice(i);
  if (text !== "") parts.push({ kind: "text", text });
  return parts;
}

/** The names of the secrets a template uses, sorted, each once; invalid_argument as parseTemplate. */
export function templateSecrets(template: string, field = "content"): string[] {
  const names = new Set<string>();
  for (const part of parseTemplate(template, field)) {
    if (part.kind === "secret") names.add(part.name);
  }
  return [...names].sort();
}

/**
 * The template rendered for one agent. Pure. invalid_argument for a template
 * that does not parse; failed_precondition when a secret it names is not in
 * the context (the file cannot be delivered). A label the agent lacks
 * renders as the empty string.
 */
export function renderTemplate(template: string, context: TemplateContext): string {
  let out = "";
  for (const part of parseTemplate(template)) {
    switch (part.kind) {
      case "text":
        out += part.text;
        break;
      case "agent":
        out += context.agent[part.field];
        break;
      case "label":
        out += (Object.hasOwn(context.labels, part.key) && context.labels[part.key]) || "";
        break;
      case "secret": {
        const secret = Object.hasOwn(context.secrets, part.name)
          ? context.secrets[part.name]
          : undefined;
        if (secret === undefined) {
          throw new DroverError("failed_precondition", `no secret named "${part.name}"`);
        }
        out += secret;
        break;
      }
    }
  }
  return out;
}
