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
  return host === "" || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
}
