import { signal } from "@preact/signals";
import { api } from "./api.ts";
import { startLive, stopLive } from "./live.ts";
import { navigate } from "./router.ts";
import type { Me } from "./types.ts";

/** Who is signed in: undefined while asking, null when nobody is. */
export const me = signal<Me | null | undefined>(undefined);

export async function loadMe(): Promise<void> {
  try {
    me.value = await api<Me>("GET", "/v1/auth/me");
    startLive();
  } catch {
    me.value = null;
  }
}

export async function signIn(email: string, password: string): Promise<void> {
  await api("POST", "/v1/auth/session", { email, password });
  await loadMe();
}

export async function signOut(): Promise<void> {
  stopLive();
  try {
    await api("DELETE", "/v1/auth/session");
  } finally {
    // Leave first, so the signed-out app does not remember this page as the one to come back to.
    navigate("/login", { replace: true });
    me.value = null;
  }
}

export async function changePassword(current: string, next: string): Promise<void> {
  await api("POST", "/v1/auth/password", { current_password: current, new_password: next });
  await loadMe();
}
