-- Wait at most 5 s for each lock: behind a long transaction, fail the deploy (retry it)
-- rather than queue every request behind this migration. Building the indexes holds writes
-- to run and upload (submissions, status updates, upload URLs) for their duration; reads go on.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
CREATE INDEX "run_job_results_idx" ON "run" USING btree ("job_id","id") WHERE "run"."results_uploaded_at" is not null and "run"."results_key" is not null;--> statement-breakpoint
CREATE INDEX "upload_job_own_idx" ON "upload" USING btree ("job_id","id") WHERE "upload"."context" = 'job';
