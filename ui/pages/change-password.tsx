import { GateField, GateForm } from "../components/gate-form.tsx";
import { Heading } from "../components/heading.tsx";
import { changePassword, me } from "../session.ts";

/** Forced after the first sign-in with the initial password; nothing else is reachable until done. */
export function ChangePasswordPage() {
  return (
    <main id="main" class="narrow">
      <Heading>Change password</Heading>
      <p>{me.value?.user?.email} still has its initial password. Choose a new one to continue.</p>
      <GateForm
        submitLabel="Change password"
        submit={async (form) => {
          const next = String(form.get("new"));
          if (next !== String(form.get("confirm"))) return "The new passwords do not match.";
          await changePassword(String(form.get("current")), next);
          return undefined;
        }}
        describe={(problem) =>
          [problem.message, ...problem.details.map((detail) => detail.message)].join(" ")
        }
      >
        <GateField
          name="current"
          label="Current password"
          type="password"
          autocomplete="current-password"
        />
        <GateField name="new" label="New password" type="password" autocomplete="new-password" />
        <GateField
          name="confirm"
          label="Confirm new password"
          type="password"
          autocomplete="new-password"
        />
      </GateForm>
    </main>
  );
}
