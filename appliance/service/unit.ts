/**
 * The systemd unit of an installed drover command, as text. Pure: the plan
 * (plan.ts) decides what the service may do; this only writes it down.
 */

/** What one installed service runs and may touch. */
export interface ServiceUnit {
  description: string;
  /** The absolute program and its arguments. */
  exec: string[];
  user: string;
  /** The data dir: the only place the service writes, besides `writablePaths` (plain paths: see plan.ts). */
  dataDir: string;
  /** Further paths it writes (system nginx: its conf dir and state). */
  writablePaths: string[];
  /** A root-only KEY=value file read at start (the join token): never on the command line. */
  environmentFile?: string;
  /** Capabilities it keeps (binding ports below 1024); none when empty, unless it runs as root. */
  capabilities: string[];
  /** Home directories stay hidden unless a path it needs lies in one. */
  protectHome: "yes" | "read-only";
  /** Hardware the machine's own config declares (GPIO lines, commands) needs /dev. */
  privateDevices: boolean;
  supplementaryGroups: string[];
  /** The open-file limit: one descriptor per connected agent on a server. */
  openFiles?: number;
}

/**
 * One word of a systemd command line: quoted when it must be, with `%`
 * (specifiers) and `$` (variables) doubled so systemd passes them on as typed.
 */
export function systemdWord(word: string): string {
  const literal = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(literal)) return literal;
  return `"${literal.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

export function renderUnit(unit: ServiceUnit): string {
  const runsAsRoot = unit.user === "root";
  const lines = [
    "# Written by `drover service install`; `drover service uninstall` removes it.",
    "[Unit]",
    `Description=${unit.description}`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    `ExecStart=${unit.exec.map(systemdWord).join(" ")}`,
    ...(runsAsRoot ? [] : [`User=${unit.user}`, `Group=${unit.user}`]),
    ...(unit.supplementaryGroups.length > 0
      ? [`SupplementaryGroups=${unit.supplementaryGroups.join(" ")}`]
      : []),
    ...(unit.environmentFile ? [`EnvironmentFile=${unit.environmentFile}`] : []),
    "Restart=on-failure",
    "RestartSec=5s",
    // The server marks its agents offline and closes the database within this.
    "TimeoutStopSec=30s",
    "UMask=0077",
    ...(unit.openFiles ? [`LimitNOFILE=${unit.openFiles}`] : []),
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    `ReadWritePaths=${[unit.dataDir, ...unit.writablePaths].join(" ")}`,
    `ProtectHome=${unit.protectHome}`,
    "PrivateTmp=yes",
    ...(unit.privateDevices ? ["PrivateDevices=yes"] : []),
    ...(runsAsRoot && unit.capabilities.length === 0
      ? []
      : [`CapabilityBoundingSet=${unit.capabilities.join(" ")}`]),
    ...(!runsAsRoot && unit.capabilities.length > 0
      ? [`AmbientCapabilities=${unit.capabilities.join(" ")}`]
      : []),
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
    // Netlink: the agent reads its addresses. No MemoryDenyWriteExecute: the JavaScript JIT needs it.
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ];
  return lines.join("\n");
}
