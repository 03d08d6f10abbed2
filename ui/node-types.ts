/**
 * The node functions' REST answers (docs/ARCHITECTURE.md, issue 12): what the agent
 * page's Machine section reads from `/v1/agents/{id}/…`, in the API's snake_case.
 */

export interface SystemMetrics {
  cpu_usage: number;
  memory_usage: number;
  disk_usage: number;
  memory_total_bytes: number;
  memory_used_bytes: number;
  disk_total_bytes: number;
  disk_used_bytes: number;
  load_average: [number, number, number];
  uptime_seconds: number;
  cpu_count: number;
  network: {
    name: string;
    rx_bytes: number;
    tx_bytes: number;
    rx_packets: number;
    tx_packets: number;
    rx_errors: number;
    tx_errors: number;
  }[];
  temperatures: { zone: string; type: string; celsius: number }[];
  throttling?: ThrottlingFlags;
  timestamp: string;
  hostname: string;
}

export interface ThrottlingFlags {
  raw: number;
  under_voltage: boolean;
  frequency_capped: boolean;
  throttled: boolean;
  soft_temperature_limit: boolean;
  under_voltage_occurred: boolean;
  frequency_capped_occurred: boolean;
  throttled_occurred: boolean;
  soft_temperature_limit_occurred: boolean;
}

export interface NodeHealth {
  status: "OK";
  latency_ms: number;
  version: string;
  uptime_seconds: number;
}

export interface DeclaredCommand {
  name: string;
  argv: string[];
  timeout_ms: number;
  max_output_bytes: number;
  /** Extra arguments must each match it; absent: none allowed. */
  arg_pattern?: string;
  max_args: number;
}

export type GpioLevel = "on" | "off";

export interface DeclaredLine {
  name: string;
  chip: string;
  offset: number;
  direction: "input" | "output";
  active_low: boolean;
  bias: string;
  initial?: GpioLevel;
  safe?: GpioLevel;
}

/** What the agent's own config file lets the control plane do there. */
export interface NodeDescription {
  commands: DeclaredCommand[];
  logs: string[];
  gpio: DeclaredLine[];
  journald: boolean;
}

export interface NodeCommandResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  timed_out: boolean;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  duration_ms: number;
  signal?: string;
}

export interface GpioState {
  line: string;
  chip: string;
  offset: number;
  level: GpioLevel;
}

export interface NodeLogEntry {
  timestamp: string;
  message: string;
  source: string;
  priority: number;
  hostname?: string;
}
