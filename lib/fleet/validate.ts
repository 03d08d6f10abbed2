import { invalidField } from "../errors/index.ts";

const hostnamePattern =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ipv4Pattern = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const ipv6Pattern = /^[0-9A-Fa-f:.]{2,45}$/;
const namePattern = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const capabilityPattern = /^[a-z0-9]([a-z0-9._-]{0,62})$/;
const printablePattern = /^[\x21-\x7e]{1,64}$/;

export function isIpAddress(text: string): boolean {
  return ipv4Pattern.test(text) || (text.includes(":") && ipv6Pattern.test(text));
}

export function checkHostname(field: string, value: string): void {
  if (!hostnamePattern.test(value)) throw invalidField(field, "must be a DNS host name");
}

export function checkOptionalIp(field: string, value: string): void {
  if (value !== "" && !isIpAddress(value))
    throw invalidField(field, "must be an IPv4 or IPv6 address");
}

export function checkName(field: string, value: string): void {
  if (!namePattern.test(value)) {
    throw invalidField(
      field,
      "must be 1-63 letters, digits, '.', '_' or '-', starting and ending alphanumeric",
    );
  }
}

export function checkVersion(field: string, value: string): void {
  if (value !== "" && !printablePattern.test(value)) {
    throw invalidField(field, "must be 1-64 printable characters without spaces");
  }
}

export function checkCapabilities(field: string, values: readonly string[]): void {
  if (values.length > 64) throw invalidField(field, "at most 64 capabilities");
  values.forEach((value, index) => {
    if (!capabilityPattern.test(value)) {
      throw invalidField(
        `${field}[${index}]`,
        "must be lowercase letters, digits, '.', '_' or '-'",
      );
    }
  });
}
