import { lazy } from "@fred/core/util";
import * as z from "zod";
import pkg from "../../../package.json" with { type: "json" };
import { requireUser } from "../middleware/auth";
import { bearerAuth, errors, json, router } from "../router";
import { TokenView, tokenView, UserView, userView } from "../view";

const Registration = lazy(() =>
  z
    .object({
      user: UserView(),
      token: TokenView().meta({ description: "The token this request used (never its secret)." }),
      api: z.object({ version: z.literal("v1"), service: z.string(), serviceVersion: z.string() }),
    })
    .meta({ id: "Registration" }),
);

export const registration = router();
registration.use("/api/v1/registration", requireUser);

registration.openapi(
  {
    method: "get",
    path: "/api/v1/registration",
    tags: ["Account"],
    summary: "Who you are: your user, the token in use, and the API version",
    security: bearerAuth,
    responses: () => ({ 200: json(Registration(), "Your registration"), ...errors(401, 503) }),
  },
  (c) =>
    c.json(
      {
        user: userView(c.get("user")),
        token: tokenView(c.get("token")),
        api: { version: "v1" as const, service: "fred-platform", serviceVersion: pkg.version },
      },
      200,
    ),
);
