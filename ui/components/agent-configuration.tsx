import type { AgentConfig } from "../types.ts";

/** Desired vs applied version, each host applied or set aside and why, nginx's own errors. */
export function Configuration(props: { config: AgentConfig | undefined }) {
  const { config } = props;
  return (
    <section aria-labelledby="config-heading">
      <h2 id="config-heading">Configuration</h2>
      {!config ? (
        <p>No configuration delivered yet.</p>
      ) : (
        <>
          <dl class="facts">
            <div>
              <dt>Desired version</dt>
              <dd>{config.desired_version}</dd>
            </div>
            <div>
              <dt>Applied version</dt>
              <dd>{config.applied_version}</dd>
            </div>
            <div>
              <dt>State</dt>
              <dd>{config.state}</dd>
            </div>
          </dl>
          {config.virtual_hosts.length > 0 && (
            <ul class="hosts">
              {config.virtual_hosts.map((host) => (
                <li key={host.id}>
                  <a href="/virtual-hosts">{host.id}</a>:{" "}
                  {host.status === "applied" ? "applied" : `set aside: ${host.reason ?? ""}`}
                </li>
              ))}
            </ul>
          )}
          {config.files.map((file) => (
            <p key={file.id}>
              {file.path}: set aside: {file.reason}
            </p>
          ))}
          {(config.errors.length > 0 || config.error_message) && (
            <div class="nginx-errors">
              <h3>nginx's errors</h3>
              <pre>{[config.error_message, ...config.errors].filter(Boolean).join("\n")}</pre>
            </div>
          )}
        </>
      )}
    </section>
  );
}
