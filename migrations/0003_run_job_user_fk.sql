-- Wait at most 5 s for each lock: behind a long transaction, fail the deploy (retry it)
-- rather than queue every request behind this migration.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
ALTER TABLE "job" ADD CONSTRAINT "job_id_user_id_unique" UNIQUE("id","user_id");--> statement-breakpoint
ALTER TABLE "run" DROP CONSTRAINT "run_job_id_job_id_fk";
--> statement-breakpoint
ALTER TABLE "run" DROP CONSTRAINT "run_user_id_user_id_fk";
--> statement-breakpoint
DROP INDEX "run_user_idx";--> statement-breakpoint
ALTER TABLE "run" ADD CONSTRAINT "run_job_user_fk" FOREIGN KEY ("job_id","user_id") REFERENCES "public"."job"("id","user_id") ON DELETE cascade ON UPDATE no action;
