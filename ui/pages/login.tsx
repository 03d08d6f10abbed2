import { GateField, GateForm } from "../components/gate-form.tsx";
import { Heading } from "../components/heading.tsx";
import { signIn } from "../session.ts";

export function LoginPage() {
  return (
    <main id="main" class="narrow">
      <Heading>Sign in</Heading>
      <GateForm
        submitLabel="Sign in"
        submit={async (form) => {
          await signIn(String(form.get("email")), String(form.get("password")));
          return undefined;
        }}
        describe={(problem) =>
          problem.status === 401 ? "Wrong email or password." : problem.message
        }
      >
        <GateField name="email" label="Email" type="email" autocomplete="username" />
        <GateField
          name="password"
          label="Password"
          type="password"
          autocomplete="current-password"
        />
      </GateForm>
    </main>
  );
}
