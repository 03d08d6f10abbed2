import { useState } from "preact/hooks";
import { problemOf } from "../api.ts";
import { Heading } from "../components/heading.tsx";
import { signIn } from "../session.ts";

export function LoginPage() {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" class="narrow">
      <Heading>Sign in</Heading>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          setBusy(true);
          setError("");
          try {
            await signIn(String(form.get("email")), String(form.get("password")));
          } catch (failure) {
            const problem = problemOf(failure);
            setError(problem.status === 401 ? "Wrong email or password." : problem.message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <div class="field">
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="username" required />
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
          />
        </div>
        {error && (
          <p role="alert" class="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
