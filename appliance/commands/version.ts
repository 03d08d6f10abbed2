import { buildInfo } from "../build-info.ts";
import { defineCommand } from "../command.ts";
import { outputFlag, outputOf, UsageError } from "../flags.ts";

/** `drover version`: the release on the first line (scripts read it), then the build. */
export const versionCommand = defineCommand(
  {
    summary: "print Drover's version, the commit and the target it was built for",
    flags: { ...outputFlag },
    examples: ["drover version", "drover version -o json"],
  },
  async ({ flags, positionals }, io) => {
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    if (outputOf(flags) === "json") {
      io.stdout(`${JSON.stringify(buildInfo)}\n`);
      return 0;
    }
    io.stdout(
      `drover ${buildInfo.version}\ncommit: ${buildInfo.commit}\ntarget: ${buildInfo.target}\n`,
    );
    return 0;
  },
);
