import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { isBun } from "../runtime/index.ts";

/** The API reference renderer (Swagger UI) that /v1/docs serves from its own origin. */
export interface DocsAssets {
  script: string;
  style: string;
}

/**
 * Under Bun (and in the compiled binary) the files are embedded; under Node
 * and Deno they are read from the `swagger-ui-dist` package when it is
 * installed. Undefined when it is not: the page then says so.
 */
export async function loadDocsAssets(): Promise<DocsAssets | undefined> {
  if (isBun()) return (await import("./docs-assets-bun.ts")).bundledDocsAssets;
  try {
    const packageJson = createRequire(import.meta.url).resolve("swagger-ui-dist/package.json");
    const dir = dirname(packageJson);
    const [script, style] = await Promise.all([
      readFile(join(dir, "swagger-ui-bundle.js"), "utf8"),
      readFile(join(dir, "swagger-ui.css"), "utf8"),
    ]);
    return { script, style };
  } catch {
    return undefined;
  }
}
