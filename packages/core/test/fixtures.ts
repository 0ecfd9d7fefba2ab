import { randomBytes } from "node:crypto";
import { User } from "@fred/core/user";

export async function makeUser(name = "Ada") {
  return User.provision({
    name,
    email: `${name.toLowerCase()}-${randomBytes(4).toString("hex")}@example.org`,
  });
}

export function runRequest(jobId: number, overrides: Record<string, unknown> = {}) {
  return {
    jobId,
    workingDir: "/home/epx/work",
    size: "hot",
    fredVersion: "11.0.1",
    population: { version: "US_2010.v5", locations: ["Allegheny_County_PA"] },
    fredArgs: [{ flag: "-p", value: "main.fred" }],
    fredFiles: ["/home/epx/work/main.fred"],
    ...overrides,
  };
}
