import { DroverError } from "../errors/index.ts";
import { oid, type x509 } from "./x509.ts";

/** Subject DN as JSON for @peculiar/x509, by OID so no string escaping is involved. */
export function subjectName(parts: {
  organization?: string;
  organizationalUnit?: string;
  commonName?: string;
}): x509.JsonName {
  const name: x509.JsonName = [];
  if (parts.organization !== undefined) name.push({ [oid.organization]: [parts.organization] });
  if (parts.organizationalUnit !== undefined) {
    name.push({ [oid.organizationalUnit]: [parts.organizationalUnit] });
  }
  if (parts.commonName !== undefined) name.push({ [oid.commonName]: [parts.commonName] });
  return name;
}

const dnsLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Lowercased DNS name; a leading "*" label is allowed for wildcard certificates. */
export function normalizeHostname(hostname: string): string {
  const name = typeof hostname === "string" ? hostname.toLowerCase().replace(/\.$/, "") : "";
  const labels = name.split(".");
  const ok =
    name.length > 0 &&
    name.length <= 253 &&
    labels.every(
      (label, i) => dnsLabel.test(label) || (i === 0 && label === "*" && labels.length > 1),
    );
  if (!ok) {
    throw new DroverError("invalid_argument", `invalid hostname ${JSON.stringify(hostname)}`);
  }
  return name;
}

const ipv4Pattern = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Validates an IPv4 or IPv6 address and returns a spelling @peculiar/x509 encodes
 * exactly (dotted quad, or eight full IPv6 groups): its own parser is lenient
 * ("1g" reads as 1) and does not understand embedded IPv4 ("::ffff:10.0.0.1").
 */
export function normalizeIp(ip: string): string {
  const fail = (): never => {
    throw new DroverError("invalid_argument", `invalid IP address ${JSON.stringify(ip)}`);
  };
  if (typeof ip !== "string") return fail();
  if (ipv4Pattern.test(ip)) return ip;
  if (!ip.includes(":")) return fail();

  let text = ip.toLowerCase();
  const tail: string[] = [];
  const lastColon = text.lastIndexOf(":");
  const maybeV4 = text.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    if (!ipv4Pattern.test(maybeV4)) return fail();
    const [a = 0, b = 0, c = 0, d = 0] = maybeV4.split(".").map(Number);
    tail.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    // Drop the IPv4 part and its separator, but keep a "::" it may be attached to.
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith("::")) text = text.slice(0, -1);
  }
  const halves = text.split("::");
  if (halves.length > 2) return fail();
  const group = /^[0-9a-f]{1,4}$/;
  const split = (s: string | undefined): string[] => (s ? s.split(":") : []);
  const head = split(halves[0]);
  const rest = split(halves[1]);
  if (![...head, ...rest].every((g) => group.test(g))) return fail();
  const known = head.length + rest.length + tail.length;
  let groups: string[];
  if (halves.length === 2) {
    if (known > 7) return fail();
    groups = [...head, ...Array<string>(8 - known).fill("0"), ...rest, ...tail];
  } else {
    groups = [...head, ...tail];
  }
  if (groups.length !== 8) return fail();
  return groups.map((g) => g.padStart(4, "0")).join(":");
}
