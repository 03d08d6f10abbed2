CREATE TABLE `tls_certificate_material` (
	`certificate_id` text PRIMARY KEY NOT NULL,
	`certificate_pem` text NOT NULL,
	`key_pem` text NOT NULL,
	`serial` text NOT NULL,
	`not_before` integer NOT NULL,
	`not_after` integer NOT NULL,
	FOREIGN KEY (`certificate_id`) REFERENCES `tls_certificates`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `tls_certificates` ADD `status_message` text;