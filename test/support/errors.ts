import { expect } from "bun:test";
import { DroverError } from "../../lib/errors/index.ts";

/** Awaits `promise`, expects it to reject with a DroverError, and returns that error. */
export async function expectDroverRejection(promise: Promise<unknown>): Promise<DroverError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DroverError);
  return error as DroverError;
}

/** Calls `fn`, expects it to throw a DroverError, and returns that error. */
export function expectDroverThrow(fn: () => unknown): DroverError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DroverError);
    return error as DroverError;
  }
  throw new Error("expected a throw");
}
