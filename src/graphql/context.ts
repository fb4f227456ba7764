import type { VerifiedClaims } from "../auth/tokens.js";
import type { UserRow } from "../db/schema.js";
import type { Session } from "../features/users/users.service.js";
import { AppError, unauthenticated } from "../shared/errors.js";
import { ResponseBudget } from "./responseBudget.js";
import { Loaders } from "./loaders.js";
import type { Services } from "../features/module.js";

export interface GraphQLContext {
  services: Services;
  readonly loaders: Loaders;
  /** The signed-in user, or null. */
  viewer: UserRow | null;
  /** The viewer's session (which logOut ends), or null. */
  session: Session | null;
  /** The viewer, or UNAUTHENTICATED. */
  requireViewer(): UserRow;
  /** New loaders: a subscription calls this per event so it never serves stale rows. */
  refreshLoaders(): void;
  /** Set by the WebSocket transport: disconnects a client whose subscription fell behind. */
  onSlowConsumer?: () => void;
  /** The client's network address (for rate limits); "unknown" when the transport cannot tell. */
  clientAddress: string;
  /** The bytes the current execution may still produce (HTTP: per request; WebSocket: per event). */
  responseBudget?: ResponseBudget;
  /** Set by a subscription whose stream ends when the viewer leaves a room: its rooms need no membership read. */
  vouchedRoom?: (roomId: string) => boolean;
  /** Whose budgets this operation spends: the viewer, or the client's address when signed out. */
  readonly usageKey: string;
}

/** The token of `Bearer <token>`; undefined without authorization, null when it is malformed. */
function bearerToken(authorization: unknown): string | null | undefined {
  if (authorization === undefined || authorization === null || authorization === "") return undefined;
  const match = typeof authorization === "string" ? /^Bearer\s+(\S+)$/i.exec(authorization.trim()) : null;
  return match ? match[1]! : null;
}

/**
 * What an authorization says once its token is checked: signed out (null), a token whose
 * session is looked up at each use (`claims`), or why it is refused (`problem`). A WebSocket
 * keeps this for its subscriptions rather than its token (about 300 bytes per idle client).
 */
export type Credentials = null | { claims: VerifiedClaims } | { problem: string };

const INVALID_TOKEN = "the token is invalid, expired or logged out; sign in again";

/** `authorization` is the `Authorization` header or `connectionParams.authorization`. */
export async function credentialsOf(services: Services, authorization: unknown): Promise<Credentials> {
  const token = bearerToken(authorization);
  if (token === undefined) return null;
  if (token === null) return { problem: "authorization must be 'Bearer <token>'" };
  const claims = await services.users.claims(token);
  return claims ? { claims } : { problem: INVALID_TOKEN };
}

/** The one context builder, used by HTTP (per request) and WebSocket (per subscription). */
export async function createContext(
  services: Services,
  credentials: Credentials,
  transport: { onSlowConsumer?: () => void; clientAddress?: string; maxResponseBytes?: number } = {},
): Promise<GraphQLContext> {
  let viewer: UserRow | null = null;
  let session: Session | null = null;
  let authProblem: string | null = null;
  if (credentials && "problem" in credentials) authProblem = credentials.problem;
  else if (credentials) {
    const found = await services.users.sessionOf(credentials.claims);
    if (found) {
      viewer = found.user;
      session = { id: found.id, expiresAt: found.expiresAt };
    } else authProblem = INVALID_TOKEN;
  }
  const context = new Context(
    services,
    viewer,
    session,
    authProblem,
    transport.clientAddress ?? "unknown",
    transport.onSlowConsumer,
  );
  if (transport.maxResponseBytes !== undefined) context.responseBudget = new ResponseBudget(transport.maxResponseBytes);
  return context;
}

/** The key budgets are spent under: a user's id, or a signed-out client's address. */
export const usageKeyOf = (userId: string | null | undefined, clientAddress: string) =>
  userId ? `user:${userId}` : `address:${clientAddress}`;

/** A class, not an object of closures: a subscription keeps its context for its whole life. */
class Context implements GraphQLContext {
  // Not an ES private field: Apollo Server copies a request's context object (its own
  // properties onto the class's prototype), and a copy has no ES private fields.
  private lazyLoaders?: Loaders;
  responseBudget?: ResponseBudget;
  vouchedRoom?: (roomId: string) => boolean;
  readonly usageKey: string;

  constructor(
    readonly services: Services,
    readonly viewer: UserRow | null,
    readonly session: Session | null,
    private readonly authProblem: string | null,
    readonly clientAddress: string,
    readonly onSlowConsumer?: () => void,
  ) {
    this.usageKey = usageKeyOf(viewer?.id, clientAddress);
  }

  requireViewer(): UserRow {
    if (!this.viewer) throw unauthenticated(this.authProblem ?? undefined);
    return this.viewer;
  }

  /** Made when first used: an idle subscription keeps its context, and needs none until an event. */
  get loaders(): Loaders {
    return (this.lazyLoaders ??= new Loaders(this.services, this.viewer?.id ?? null));
  }

  refreshLoaders(): void {
    this.lazyLoaders = undefined;
  }
}

/**
 * `resolve` of a subscription field whose stream yields items and, last, the AppError it
 * ended with. A subscription's context lives as long as the subscription: its loaders are
 * renewed per event, so an event never sees rows cached for an earlier one.
 */
export function freshPerEvent<T>(item: T | AppError, _args: unknown, ctx: GraphQLContext): T {
  if (item instanceof AppError) throw item;
  ctx.refreshLoaders();
  return item;
}
