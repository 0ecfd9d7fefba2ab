import * as z from "zod";
import { Id, lazy, Text } from "../util";

/**
 * A FRED simulation request, as the epx client sends it. A model that needs no synthetic
 * population comes with `"population": null` (the client's field is optional). The client
 * passes each location as a `-l` argument too (FRED 11), so a request may have as many
 * arguments as locations, and then some.
 */
export const RunRequest = lazy(() =>
  z.strictObject({
    jobId: Id,
    workingDir: Text(1024),
    size: Text(64),
    fredVersion: Text(64),
    population: z
      .strictObject({
        version: Text(64),
        locations: z.array(Text(200)).max(1000),
      })
      .nullable()
      .default(null),
    fredArgs: z
      .array(z.strictObject({ flag: Text(100), value: Text(1000) }))
      .max(2000)
      .default([]),
    fredFiles: z.array(Text(1024)).max(100).default([]),
  }),
);
export type RunRequest = z.output<ReturnType<typeof RunRequest>>;
