/** Times in responses: each record's own, also in lists where most records share one. */
import { describe, expect, it } from "vitest";
import { isoTime } from "../src/api/view";

describe("isoTime", () => {
  it("formats every instant as toISOString does, whatever it formatted before", () => {
    const a = new Date("2026-11-23T12:00:00.123Z");
    const b = new Date("2026-11-23T12:00:00.124Z");
    const dates = [a, a, b, a, new Date(a), b, b, new Date(0), a];
    expect(dates.map(isoTime)).toEqual(dates.map((d) => d.toISOString()));
  });

  it("refuses an invalid date, as toISOString does, and then still formats valid ones", () => {
    expect(() => isoTime(new Date(Number.NaN))).toThrow(RangeError);
    expect(() => isoTime(new Date(Number.NaN))).toThrow(RangeError);
    expect(isoTime(new Date(86_400_000))).toBe("1970-01-02T00:00:00.000Z");
  });
});
