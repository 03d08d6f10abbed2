import { DroverError } from "../errors/index.ts";

/**
 * Quoting for nginx's configuration tokenizer. In every token, quoted or not,
 * nginx turns `\"`, `\'` and `\\` into the bare character and `\t`, `\r`,
 * `\n` into control characters; any other backslash stays. Escaping `\` and
 * `"` inside double quotes therefore hands nginx exactly the string given.
 * Quoting does not stop `$` from starting a variable in directives that take
 * variables: that is the validators' job (variables.ts).
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const unquotable = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: see unquotable
const needsCare = /[\u0000-\u001f\u007f\\"]/;

/** `"value"` with `\` and `"` escaped. Control characters never get here: validators refuse them. */
export function quote(value: string): string {
  // Most values have nothing to escape: one scan decides.
  if (!needsCare.test(value)) return `"${value}"`;
  if (unquotable.test(value)) {
    // A validator let one through: a bug, not bad input.
    throw new DroverError("internal", "nginx compiler: control character reached quote()");
  }
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Characters that never end, start or escape anything in an unquoted nginx token. */
const bare = /^[A-Za-z0-9_./:@%+=,*~^!?&[\]-]+$/;

/** The value as one nginx argument: bare when that is unambiguous, quoted otherwise. */
export function arg(value: string): string {
  return bare.test(value) ? value : quote(value);
}
