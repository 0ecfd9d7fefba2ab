import { Token, User } from "@fred/core/user";
import { IdParam, lazy } from "@fred/core/util";
import * as z from "zod";
import { requireAdmin } from "../middleware/auth";
import { errors, json, router } from "../router";
import { TokenView, tokenView, UserView, userView } from "../view";

const adminAuth: Record<string, string[]>[] = [{ bearer: [] }];
const UserParams = lazy(() =>
  z.object({ user_id: IdParam.meta({ param: { name: "user_id", in: "path" } }) }),
);
const Secret = lazy(() =>
  z.string().meta({
    description: "The API token. Shown only in this response: store it now.",
    example: "epx_3q2-7wGk…",
  }),
);

export const admin = router();
admin.use("/api/v1/admin/*", requireAdmin);

admin.openapi(
  {
    method: "post",
    path: "/api/v1/admin/users",
    tags: ["Admin"],
    summary: "Create a user and its first API token (admin token required)",
    security: adminAuth,
    request: () => ({
      body: {
        content: {
          "application/json": { schema: User.ProvisionInput().meta({ id: "CreateUser" }) },
        },
        required: true,
      },
    }),
    responses: () => ({
      201: json(
        z.object({ user: UserView(), token: Secret(), tokenInfo: TokenView() }),
        "The new user",
      ),
      ...errors(400, 401, 409, 413, 415, 503),
    }),
  },
  async (c) => {
    const { user, token } = await User.provision(c.req.valid("json"));
    return c.json(
      { user: userView(user), token: token.token, tokenInfo: tokenView(token.info) },
      201,
    );
  },
);

admin.openapi(
  {
    method: "post",
    path: "/api/v1/admin/users/{user_id}/tokens",
    tags: ["Admin"],
    summary: "Issue another token for a user",
    security: adminAuth,
    request: () => ({
      params: UserParams(),
      body: {
        content: {
          "application/json": {
            schema: User.ProvisionInput().pick({ label: true, ttlDays: true }),
          },
        },
        required: false,
      },
    }),
    responses: () => ({
      201: json(z.object({ token: Secret(), tokenInfo: TokenView() }), "The new token"),
      ...errors(400, 401, 404, 413, 415, 503),
    }),
  },
  async (c) => {
    const options = c.req.valid("json") ?? {};
    const issued = await Token.issue({ ...options, userId: c.req.valid("param").user_id });
    return c.json({ token: issued.token, tokenInfo: tokenView(issued.info) }, 201);
  },
);

admin.openapi(
  {
    method: "get",
    path: "/api/v1/admin/users/{user_id}/tokens",
    tags: ["Admin"],
    summary: "A user's tokens (prefixes only)",
    security: adminAuth,
    request: () => ({ params: UserParams() }),
    responses: () => ({
      200: json(z.object({ tokens: z.array(TokenView()) }), "Tokens"),
      ...errors(400, 401, 404, 503),
    }),
  },
  async (c) => {
    const userId = c.req.valid("param").user_id;
    await User.get(userId);
    return c.json({ tokens: (await Token.list(userId)).map(tokenView) }, 200);
  },
);

admin.openapi(
  {
    method: "delete",
    path: "/api/v1/admin/users/{user_id}/tokens/{token_id}",
    tags: ["Admin"],
    summary: "Revoke a token; it stops working at once (revoking it again changes nothing)",
    security: adminAuth,
    request: () => ({
      params: UserParams().extend({
        token_id: IdParam.meta({ param: { name: "token_id", in: "path" } }),
      }),
    }),
    responses: () => ({
      200: json(TokenView(), "The revoked token"),
      ...errors(400, 401, 404, 503),
    }),
  },
  async (c) => {
    const { user_id, token_id } = c.req.valid("param");
    return c.json(tokenView(await Token.revoke({ userId: user_id, tokenId: token_id })), 200);
  },
);
