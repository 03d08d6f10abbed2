import { invalidField } from "../errors/index.ts";

export interface HostPort {
  /** Empty means every interface when binding, and "the host you already know" when advertised. */
  host: string;
  port: number;
}

/** Parses "host:port", ":port" and "[v6]:port". */
export function parseHostPort(text: string, field = "address"): HostPort {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw invalidField(field, `"${text}" is not HOST:PORT`);
  return { host: match[1] ?? match[2] ?? "", port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Where a client should dial for a bind address: a wildcard bind is reached on loopback. */
export function dialableHost(host: string): string {
  return isWildcardHost(host) ? "127.0.0.1" : host;
}

/** True for a bind host that means every interface. */
export function isWildcardHost(host: string): boolean {
  return host === "" || host === "0.0.0.0" || host === "::";
}

/** One address of `os.networkInterfaces()`, as much of it as is read here. */
export interface InterfaceAddress {
  address: string;
  family: string | number;
  internal: boolean;
}

/**
 * The addresses another machine can dial this one on, IPv4 first: every
 * non-loopback address except IPv6 link-local ones (those need a zone id).
 * Takes `os.networkInterfaces()`, so it stays a pure function.
 */
export function externalAddresses(
  interfaces: Record<string, InterfaceAddress[] | undefined>,
): string[] {
  const all = Object.values(interfaces).flatMap((addresses) => addresses ?? []);
  const external = all.filter(
    (entry) => !entry.internal && !/^fe[89ab][0-9a-f]:/i.test(entry.address),
  );
  const isV4 = (entry: InterfaceAddress) => entry.family === "IPv4" || entry.family === 4;
  return [
    ...new Set([
      ...external.filter(isV4).map((entry) => entry.address),
      ...external.filter((entry) => !isV4(entry)).map((entry) => entry.address),
    ]),
  ];
}
