-- One index for a job's runs in id order and for their counts by status, where there were two.
-- Wait at most 5 s for each lock: behind a long transaction, fail the deploy (retry it)
-- rather than queue every request behind this migration. Building the new index holds writes
-- to run (submissions, status updates) for its duration, and reads go on; the old indexes are
-- dropped only then, since dropping one locks the table, reads too, until the commit.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
CREATE INDEX "run_job_idx_next" ON "run" USING btree ("job_id","id","status");--> statement-breakpoint
DROP INDEX "run_job_status_idx";--> statement-breakpoint
DROP INDEX "run_job_idx";--> statement-breakpoint
ALTER INDEX "run_job_idx_next" RENAME TO "run_job_idx";
