/** One file of the bundled web UI, as scripts/build-ui.ts embeds it. */
export interface WebAsset {
  /** `/index.html` or `/assets/<name>.<hash>.<ext>`. */
  path: string;
  contentType: string;
  body: string;
}
