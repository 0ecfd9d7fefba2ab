import type { Token, User } from "@fred/core/user";

/** What middleware puts on the Hono context for the handlers after it. */
export interface AppEnv {
  Bindings: {
    /** Present when running in Lambda (./gateway.ts passes the raw event). */
    event?: { requestContext?: { requestId?: string } };
  };
  Variables: {
    requestId: string;
    user: User.Info;
    token: Token.Info;
    /** Set once the request's token has passed its check (see `requireUser`). */
    authenticated?: true;
    /** The status a refused token gets: 401, or 403 on the epx client's routes. */
    unauthorizedStatus?: 401 | 403;
  };
}
