// Issue 14, a lease scheduler waiting for a credential that expires in a year: a wait past setTimeout's limit must not fire at once.
import { expect, test } from "bun:test";
import { systemTimers } from "./index.ts";

test("a wait longer than setTimeout's limit does not fire early, and can be cancelled", async () => {
  let fired = false;
  const cancel = systemTimers.after(365 * 86_400_000, () => {
    fired = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(fired).toBe(false);
  cancel();
});

test("a short wait fires", async () => {
  const fired = await new Promise<boolean>((resolve) => systemTimers.after(5, () => resolve(true)));
  expect(fired).toBe(true);
});
