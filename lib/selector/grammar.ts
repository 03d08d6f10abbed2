/**
 * The label grammar (Kubernetes' qualified names). Everything that reaches SQL
 * JSON paths is checked here first, so the store may rely on keys containing
 * no quotes, backslashes or whitespace.
 */

const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MAX_PREFIX = 253;

/** Returns why `key` is not a valid label key, or undefined when it is. */
export function keyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (slash !== -1) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > MAX_PREFIX) {
      return `key prefix must be 1-${MAX_PREFIX} characters`;
    }
    if (!prefix.split(".").every((label) => DNS_LABEL.test(label))) {
      return "key prefix must be a lowercase DNS subdomain";
    }
  }
  if (name.length === 0) return "key name must not be empty";
  if (name.length > 63) return "key name must be at most 63 characters";
  if (!NAME.test(name)) {
    return "key name must be alphanumeric, '-', '_' or '.', starting and ending alphanumeric";
  }
  return undefined;
}

/** Returns why `value` is not a valid label value, or undefined when it is. */
export function valueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63) return "value must be at most 63 characters";
  if (!NAME.test(value)) {
    return "value must be empty or alphanumeric, '-', '_' or '.', starting and ending alphanumeric";
  }
  return undefined;
}

export function isValidKey(key: string): boolean {
  return keyProblem(key) === undefined;
}

export function isValidValue(value: string): boolean {
  return valueProblem(value) === undefined;
}
