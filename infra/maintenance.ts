/** Hourly housekeeping Lambda: purges expired Idempotency-Keys (packages/functions/src/maintenance.ts). */
import { database } from "./database";
import { lambdaDefaults } from "./lambda";

export const maintenance = new sst.aws.Cron("Maintenance", {
  schedule: "rate(1 hour)",
  job: {
    description: "fred-platform housekeeping: expired Idempotency-Keys",
    handler: "packages/functions/src/maintenance.handler",
    ...lambdaDefaults,
    timeout: "1 minute",
    link: [database],
  },
});
