import { DroverError, invalidField } from "../errors/index.ts";

/** Let's Encrypt's limit; also keeps a request from growing without bound. */
export const maxDomainsPerOrder = 100;

const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Lowercases and checks DNS names for an HTTP-01 order, dropping duplicates.
 * Refused up front, before any network call: wildcards (need DNS-01), IP
 * addresses (RFC 8738, not supported here), non-ASCII (pass the xn-- form),
 * single-label names and numeric TLDs (no public CA issues for them).
 */
export function normalizeDomains(domains: unknown, field = "domains"): string[] {
  if (!Array.isArray(domains)) throw invalidField(field, "must be an array of domain names");
  if (domains.length === 0) throw invalidField(field, "at least one domain name is required");
  if (domains.length > maxDomainsPerOrder) {
    throw invalidField(field, `at most ${maxDomainsPerOrder} domain names per certificate`);
  }
  const out: string[] = [];
  domains.forEach((domain: unknown, i) => {
    const name = normalizeDomain(domain, `${field}[${i}]`);
    if (!out.includes(name)) out.push(name);
  });
  return out;
}

function normalizeDomain(domain: unknown, field: string): string {
  if (typeof domain !== "string" || domain.length === 0) {
    throw invalidField(field, "must be a non-empty string");
  }
  const shown = JSON.stringify(domain);
  const name = domain.toLowerCase().replace(/\.$/, "");
  if (name.startsWith("*.")) {
    throw invalidField(field, `${shown}: wildcard names need DNS-01, which Drover does not do`);
  }
  if (/^[\d.]+$/.test(name) || name.includes(":")) {
    throw invalidField(field, `${shown}: IP addresses are not supported, only DNS names`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point: ASCII only.
  if (!/^[\x00-\x7f]*$/.test(name)) {
    throw invalidField(field, `${shown}: use the punycode (xn--) form of internationalized names`);
  }
  const labels = name.split(".");
  if (name.length > 253 || !labels.every((l) => label.test(l))) {
    throw invalidField(
      field,
      `${shown} is not a valid domain name (letters, digits and inner hyphens; labels of 1-63 characters)`,
    );
  }
  if (labels.length < 2 || /^\d+$/.test(labels[labels.length - 1] ?? "")) {
    throw invalidField(field, `${shown} is not a fully qualified domain name`);
  }
  return name;
}

/** The directory must be https: unless the caller explicitly allows plain http (local tests). */
export function checkDirectoryUrl(value: unknown, allowInsecure: boolean): string {
  if (typeof value !== "string" || value.length === 0) {
    throw invalidField("directoryUrl", "must be a URL string");
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidField("directoryUrl", `${JSON.stringify(value)} is not a URL`);
  }
  if (url.username || url.password) {
    throw invalidField("directoryUrl", "must not contain credentials");
  }
  if (url.protocol === "https:") return url.href;
  if (url.protocol === "http:" && allowInsecure) return url.href;
  throw new DroverError(
    "invalid_argument",
    `directoryUrl: ${JSON.stringify(value)} must use https: (ACME runs over TLS; set allowInsecureDirectory only for a local test server)`,
    { details: [{ field: "directoryUrl", message: "must use https:" }] },
  );
}
