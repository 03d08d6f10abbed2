/**
 * The API reference at /v1/docs: a self-contained page (no CDN; fleets are
 * often offline) that renders /v1/openapi.json as a table of operations.
 */
export const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Drover REST API</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 2rem; text-transform: capitalize; }
table { border-collapse: collapse; width: 100%; } td { padding: .3rem .5rem; border-top: 1px solid #ddd; vertical-align: top; }
code { font: 13px ui-monospace, monospace; } .method { font-weight: 600; width: 5rem; text-transform: uppercase; }
</style>
</head>
<body>
<h1>Drover REST API</h1>
<p>Base path <code>/v1</code>. Authenticate with <code>POST /v1/auth/login</code>, then send
<code>Authorization: Bearer &lt;access_token&gt;</code>. Machine-readable:
<a href="openapi.json"><code>openapi.json</code></a>.</p>
<div id="operations">Loading…</div>
<script>
fetch("openapi.json").then((r) => r.json()).then((doc) => {
  const groups = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "other";
      (groups[tag] = groups[tag] || []).push({ method, path, summary: op.summary || "" });
    }
  }
  const root = document.getElementById("operations");
  root.textContent = "";
  for (const [tag, ops] of Object.entries(groups)) {
    const h = document.createElement("h2"); h.textContent = tag; root.append(h);
    const table = document.createElement("table");
    for (const op of ops) {
      const row = table.insertRow();
      row.insertCell().textContent = op.method; row.cells[0].className = "method";
      const code = document.createElement("code"); code.textContent = "/v1" + op.path; row.insertCell().append(code);
      row.insertCell().textContent = op.summary;
    }
    root.append(table);
  }
});
</script>
</body>
</html>
`;
