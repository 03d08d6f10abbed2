import { invalidField } from "../errors/index.ts";

/**
 * nginx's `env NAME=value;` (main context): the environment its workers keep.
 * nginx clears every other variable but TZ, so modules that read the
 * environment (perl, njs, lua) see only these.
 */

export const envLimits = { entries: 32, nameLength: 128, valueLength: 4096 } as const;

/** A POSIX shell-style name: what `env` takes and every runtime can read back. */
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const control = /[\u0000-\u001f\u007f]/;
const loneSurrogate = /\p{Cs}/u;

/**
 * Checks and returns the variables as sorted [name, value] pairs. Values are
 * any text without control characters: written quoted (quote.ts), nothing in
 * them (`;`, quotes, `$`) is read by nginx, which takes no variables in `env`.
 */
export function checkEnvVars(
  field: string,
  env: Readonly<Record<string, string>> | undefined,
): Array<[string, string]> {
  if (env === undefined) return [];
  if (env === null || typeof env !== "object" || Array.isArray(env)) {
    throw invalidField(field, "must be an object of variable names to values");
  }
  const names = Object.keys(env).sort();
  if (names.length > envLimits.entries) {
    throw invalidField(field, `must have at most ${envLimits.entries} variables`);
  }
  return names.map((name) => {
    const at = `${field}.${name}`;
    if (!envName.test(name) || name.length > envLimits.nameLength) {
      throw invalidField(
        at,
        `is not a variable name ([A-Za-z_][A-Za-z0-9_]*, at most ${envLimits.nameLength} characters)`,
      );
    }
    // nginx keeps its listening sockets in NGINX across a binary upgrade.
    if (name === "NGINX") throw invalidField(at, "is nginx's own variable");
    const value = env[name];
    if (typeof value !== "string") throw invalidField(at, "must be a string");
    if (value.length > envLimits.valueLength) {
      throw invalidField(at, `must be at most ${envLimits.valueLength} characters`);
    }
    if (control.test(value) || loneSurrogate.test(value)) {
      throw invalidField(at, "must be text without control characters");
    }
    return [name, value];
  });
}
