/**
 * `sst dev` extras: Drizzle Studio as a dev command, linked to the database so that
 * drizzle.config.ts finds it through `Resource.Database` (the local Postgres of the `dev`
 * block in sst dev). Dev commands exist only in `sst dev`; deploys ignore them.
 */
import { database } from "./database";

export const studio = new sst.x.DevCommand("Studio", {
  link: [database],
  dev: { title: "Drizzle Studio", command: "pnpm db:studio", autostart: false },
});
