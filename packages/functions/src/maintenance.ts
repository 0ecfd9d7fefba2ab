/**
 * Hourly housekeeping (sst.aws.Cron in infra/maintenance.ts): forgets Idempotency-Keys
 * past their 24 hours, so the table holds one day of keys, not all of history.
 */
import { Idempotency } from "@fred/core/idempotency";

export async function handler() {
  const idempotencyKeysPurged = await Idempotency.purge();
  console.log(JSON.stringify({ msg: "maintenance", idempotencyKeysPurged }));
  return { idempotencyKeysPurged };
}
