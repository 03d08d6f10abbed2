CREATE TABLE `access_logs` (
	`id` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`workspace_id` text NOT NULL,
	`timestamp` integer NOT NULL,
	`remote_addr` text NOT NULL,
	`method` text NOT NULL,
	`uri` text NOT NULL,
	`protocol` text NOT NULL,
	`host` text NOT NULL,
	`status` integer NOT NULL,
	`body_bytes_sent` integer NOT NULL,
	`response_time_ms` real NOT NULL,
	`user_agent` text,
	`referer` text,
	`request_id` text,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `access_logs_workspace_id_timestamp_idx` ON `access_logs` (`workspace_id`,`timestamp`);--> statement-breakpoint
CREATE INDEX `access_logs_agent_id_timestamp_idx` ON `access_logs` (`agent_id`,`timestamp`);--> statement-breakpoint
CREATE TABLE `tls_certificates` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`domain` text NOT NULL,
	`is_wildcard` integer NOT NULL,
	`provider` text NOT NULL,
	`status` text NOT NULL,
	`issued_at` integer,
	`expires_at` integer,
	`auto_renew` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tls_certificates_workspace_id_domain_unique` ON `tls_certificates` (`workspace_id`,`domain`);--> statement-breakpoint
CREATE TABLE `upstreams` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`algorithm` text NOT NULL,
	`hash_key` text,
	`servers` text NOT NULL,
	`keepalive` integer,
	`health_check` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `upstreams_workspace_id_name_unique` ON `upstreams` (`workspace_id`,`name`);--> statement-breakpoint
CREATE TABLE `virtual_hosts` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`server_name` text NOT NULL,
	`listen_port` integer NOT NULL,
	`ssl_enabled` integer NOT NULL,
	`ssl_certificate_id` text,
	`http2_enabled` integer NOT NULL,
	`http3_enabled` integer NOT NULL,
	`locations` text NOT NULL,
	`target_agents` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`ssl_certificate_id`) REFERENCES `tls_certificates`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `virtual_hosts_workspace_id_name_unique` ON `virtual_hosts` (`workspace_id`,`name`);--> statement-breakpoint
CREATE INDEX `virtual_hosts_ssl_certificate_id_idx` ON `virtual_hosts` (`ssl_certificate_id`);