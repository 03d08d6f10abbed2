/**
 * Runtime seam, Bun side: the API reference renderer's files as text. `bun
 * build --compile` embeds them into the binary, so /v1/docs works offline.
 * Loaded only by dynamic import under Bun (Node and Deno cannot import text).
 */

import style from "swagger-ui-dist/swagger-ui.css" with { type: "text" };
import script from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "text" };
import type { DocsAssets } from "./docs-assets.ts";

export const bundledDocsAssets: DocsAssets = { script, style };
