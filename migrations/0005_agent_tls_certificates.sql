CREATE TABLE `agent_tls_certificates` (
	`agent_id` text NOT NULL,
	`certificate_id` text NOT NULL,
	`key_path` text NOT NULL,
	`certificate_pem` text NOT NULL,
	`serial` text NOT NULL,
	`not_before` integer NOT NULL,
	`not_after` integer NOT NULL,
	PRIMARY KEY(`agent_id`, `certificate_id`),
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`certificate_id`) REFERENCES `tls_certificates`(`id`) ON UPDATE no action ON DELETE cascade
);
