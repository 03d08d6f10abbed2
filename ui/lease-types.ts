/** The REST shapes of exporters and leases the lease pages read (a subset of /v1/openapi.json). */

export type ExporterStatus =
  | "Offline"
  | "Available"
  | "BeforeLease"
  | "LeaseReady"
  | "AfterLease"
  | "BeforeLeaseFailed"
  | "AfterLeaseFailed";

export interface DriverReport {
  uuid: string;
  parent_uuid: string | null;
  labels: Record<string, string>;
  description: string | null;
  methods_description: Record<string, string>;
}

export interface Exporter {
  id: string;
  name: string;
  workspace_id: string | null;
  labels: Record<string, string>;
  online: boolean;
  status: ExporterStatus;
  status_message: string;
  lease_name: string | null;
  /** The holder of `lease_name`: "user:<id>" or "operator:<serial>". */
  client: string | null;
  reports: DriverReport[];
}

export type LeasePhase = "Pending" | "Ready" | "Ended";

export interface Lease {
  name: string;
  workspace_id: string;
  client: string;
  selector: string;
  duration_text: string;
  priority: number;
  phase: LeasePhase;
  reason: string;
  message: string;
  exporter_id: string | null;
  begin_time: string | null;
  end_time: string | null;
  ended_at: string | null;
  queue_position: number | null;
}
