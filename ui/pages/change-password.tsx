import { useState } from "preact/hooks";
import { problemOf } from "../api.ts";
import { Heading } from "../components/heading.tsx";
import { changePassword, me } from "../session.ts";

/** Forced after the first sign-in with the initial password; nothing else is reachable until done. */
export function ChangePasswordPage() {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" class="narrow">
      <Heading>Change password</Heading>
      <p>{me.value?.user?.email} still has its initial password. Choose a new one to continue.</p>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const next = String(form.get("new"));
          if (next !== String(form.get("confirm"))) {
            setError("The new passwords do not match.");
            return;
          }
          setBusy(true);
          setError("");
          try {
            await changePassword(String(form.get("current")), next);
          } catch (failure) {
            const problem = problemOf(failure);
            setError(
              [problem.message, ...problem.details.map((detail) => detail.message)].join(" "),
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <div class="field">
          <label for="current">Current password</label>
          <input
            id="current"
            name="current"
            type="password"
            autocomplete="current-password"
            required
          />
        </div>
        <div class="field">
          <label for="new">New password</label>
          <input id="new" name="new" type="password" autocomplete="new-password" required />
        </div>
        <div class="field">
          <label for="confirm">Confirm new password</label>
          <input id="confirm" name="confirm" type="password" autocomplete="new-password" required />
        </div>
        {error && (
          <p role="alert" class="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Change password
        </button>
      </form>
    </main>
  );
}
