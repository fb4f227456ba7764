import { CloseCode } from "graphql-ws";
import type { WebSocket } from "ws";
import type { ConnectionListener } from "../features/module.js";
import type { UsersService } from "../features/users/users.service.js";
import type { VerifiedClaims } from "../auth/tokens.js";
import type { Credentials } from "../graphql/context.js";

/** graphql-ws's TooManyInitialisationRequests: its client does not retry it. */
const TOO_MANY_CLOSE_CODE = CloseCode.TooManyInitialisationRequests;

/** How often sockets are checked for tokens that expired. */
const EXPIRY_CHECK_MS = 10_000;

interface OpenSocket {
  socket: WebSocket;
  /** Whose socket, and until when: its token's claims. */
  claims: VerifiedClaims;
}

export interface SocketLimits {
  maxSocketsPerUser: number;
  unauthenticatedTimeoutMs: number;
  /** Counts each limit hit, by limit name. */
  onLimit(limit: string): void;
}

/**
 * Ends a WebSocket whose session ends: when its user logs out or their account changes in a
 * way that invalidates the token (a UserChanged event, from any API process), and when the
 * token expires. The socket is closed with 4401 (graphql-ws's Unauthorized, which its client
 * does not retry): the client signs in again and reconnects, resuming with afterSeq.
 * It also holds the connection limits: sockets per user, and a grace for sockets without a
 * valid token (their subscriptions are refused UNAUTHENTICATED meanwhile).
 */
export class SocketSessions {
  private readonly byUser = new Map<string, Set<OpenSocket>>();
  private readonly bySocket = new WeakMap<WebSocket, OpenSocket>();
  private readonly onClose: (this: WebSocket) => void;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly users: UsersService,
    private readonly limits: SocketLimits,
    private readonly listeners: readonly ConnectionListener[] = [],
  ) {
    // One close listener for every socket: a closure per socket would cost each idle client memory.
    const sessions = this;
    this.onClose = function (this: WebSocket) {
      sessions.closed(this);
    };
    users.onChanged((userId) => void this.recheck(userId));
    // One timer for all sockets: an expired token ends its socket within EXPIRY_CHECK_MS.
    this.timer = setInterval(() => this.sweep(), EXPIRY_CHECK_MS).unref();
  }

  /**
   * Registers a new socket's session. A socket without one is closed after a short grace (its
   * subscriptions are refused UNAUTHENTICATED meanwhile); one past the user's socket limit at
   * once. Returns the signed-in user's id, or null.
   */
  async open(socket: WebSocket, credentials: Credentials): Promise<string | null> {
    const claims = credentials && "claims" in credentials ? credentials.claims : null;
    const session = claims ? await this.users.sessionOf(claims) : null;
    if (!session) {
      setTimeout(() => {
        this.limits.onLimit("unauthenticated_timeout");
        socket.close(CloseCode.Unauthorized, "no valid token; sign in and connect with connectionParams.authorization");
      }, this.limits.unauthenticatedTimeoutMs).unref();
      return null;
    }
    // Closed while its token was looked up: there is no session to open (nor a close to come).
    if (socket.readyState >= socket.CLOSING) return null;
    let sessions = this.byUser.get(session.user.id);
    if (!sessions) this.byUser.set(session.user.id, (sessions = new Set()));
    for (const open of sessions) if (open.socket.readyState >= open.socket.CLOSING) sessions.delete(open);
    if (sessions.size >= this.limits.maxSocketsPerUser) {
      this.limits.onLimit("sockets_per_user");
      socket.close(TOO_MANY_CLOSE_CODE, `too many connections for this user (limit ${this.limits.maxSocketsPerUser})`);
      return null;
    }
    const userId = session.user.id;
    const open = { socket, claims: claims! };
    sessions.add(open);
    this.bySocket.set(socket, open);
    for (const listener of this.listeners) listener.opened(userId);
    socket.on("close", this.onClose);
    return userId;
  }

  /** A socket closed: its session is no longer open. */
  private closed(socket: WebSocket) {
    const open = this.bySocket.get(socket);
    if (!open) return;
    this.bySocket.delete(socket);
    this.byUser.get(open.claims.userId)?.delete(open);
    for (const listener of this.listeners) listener.closed(open.claims.userId);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async recheck(userId: string) {
    for (const session of this.byUser.get(userId) ?? []) {
      if (!(await this.users.sessionOf(session.claims))) this.end(userId, session, "the session ended; sign in again");
    }
  }

  /** Ends sessions whose token expired, and forgets sockets that closed. */
  private sweep() {
    const now = Date.now();
    for (const [userId, sessions] of this.byUser) {
      for (const session of sessions) {
        if (session.socket.readyState >= session.socket.CLOSING) sessions.delete(session);
        else if (session.claims.expiresAt <= now) this.end(userId, session, "the token expired; sign in again");
      }
      if (sessions.size === 0) this.byUser.delete(userId);
    }
  }

  private end(userId: string, session: OpenSocket, reason: string) {
    this.byUser.get(userId)?.delete(session);
    session.socket.close(CloseCode.Unauthorized, reason);
  }
}
