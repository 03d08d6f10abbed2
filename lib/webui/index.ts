export { webAssets } from "./assets.gen.ts";
export type { WebAsset } from "./web-asset.ts";
export { contentSecurityPolicy, webUiRoutes } from "./web-ui.ts";
