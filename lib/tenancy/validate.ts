import { invalidField } from "../errors/index.ts";

const slugPattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const emailPattern = /^[^\s@]{1,64}@[A-Za-z0-9]([A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$/;

export function checkSlug(field: string, value: string): void {
  if (!slugPattern.test(value)) {
    throw invalidField(
      field,
      "must be 1-63 lowercase letters, digits or '-', starting and ending alphanumeric",
    );
  }
}

/** Display names: any printable text, no control characters, 1-100 characters. */
export function checkDisplayName(field: string, value: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (value.trim() === "" || value.length > 100 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw invalidField(field, "must be 1-100 printable characters");
  }
}

export function checkEmail(field: string, value: string): void {
  if (!emailPattern.test(value)) throw invalidField(field, "must be an email address");
}
