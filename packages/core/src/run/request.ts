import * as z from "zod";
import { Id, lazy, Text } from "../util";

/** A FRED simulation request, as the epx client sends it. */
export const RunRequest = lazy(() =>
  z.strictObject({
    jobId: Id,
    workingDir: Text(1024),
    size: Text(64),
    fredVersion: Text(64),
    population: z.strictObject({
      version: Text(64),
      locations: z.array(Text(200)).max(1000),
    }),
    fredArgs: z
      .array(z.strictObject({ flag: Text(100), value: Text(1000) }))
      .max(100)
      .default([]),
    fredFiles: z.array(Text(1024)).max(100).default([]),
  }),
);
export type RunRequest = z.output<ReturnType<typeof RunRequest>>;
