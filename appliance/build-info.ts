import { droverVersion } from "../lib/version.ts";

// Replaced by scripts/build-bin.ts (`bun build --define`); undefined from source or a hand build.
declare const DROVER_BUILD_COMMIT: string | undefined;
declare const DROVER_BUILD_TARGET: string | undefined;

/** What `drover version` reports: the release, the commit and the target it was built for. */
export interface BuildInfo {
  version: string;
  commit: string;
  target: string;
}

export const buildInfo: BuildInfo = {
  version: droverVersion,
  commit: typeof DROVER_BUILD_COMMIT === "string" ? DROVER_BUILD_COMMIT : "unknown",
  target:
    typeof DROVER_BUILD_TARGET === "string"
      ? DROVER_BUILD_TARGET
      : `${process.platform}-${process.arch}`,
};
