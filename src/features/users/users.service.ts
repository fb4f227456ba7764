import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { hashPassword, verifyPassword, verifyAgainstNobody } from "../../auth/passwords.js";
import type { TokenService, VerifiedClaims } from "../../auth/tokens.js";
import { anyOf } from "../../db/arrays.js";
import type { Database } from "../../db/client.js";
import { revokedSessions, users, type UserRow } from "../../db/schema.js";
import { ExpiringMap } from "../../shared/collections.js";
import { unauthenticated } from "../../shared/errors.js";
import type { CommandBus } from "../../commands/ports.js";
import type { EventBus } from "../../commands/ports.js";
import { parseInput } from "../../shared/validation.js";
import {
  deleteAccountCommand,
  logInCommand,
  logOutCommand,
  logOutEverywhereCommand,
  signUpCommand,
  updateStatusMessageCommand,
} from "./users.commands.js";
import { displayName, email, statusMessage, username } from "./users.rules.js";

const signUpInput = z.object({
  username,
  password: z.string().min(8, "must be at least 8 characters").max(256, "must be at most 256 characters"),
  displayName,
  email: email.nullish(),
});

const statusInput = z.object({ statusMessage });

export interface AuthResult {
  token: string;
  user: UserRow;
}

/** Placeholder for the sender of messages whose account was deleted. */
export const deletedUser: UserRow = {
  id: "00000000-0000-0000-0000-000000000000",
  username: "deleted_user",
  displayName: "Deleted user",
  email: null,
  passwordHash: "",
  statusMessage: null,
  joinedAt: new Date(0),
  lastLoginAt: null,
  lastLogoutAt: null,
  lastSeenAt: null,
  sessionEpoch: 0,
};

/**
 * How long an API process trusts a user row it read (to authenticate a request, or as a
 * message's sender). Every change of the row (logout above all) reaches every API process as
 * a UserChanged event within milliseconds and evicts it; the limit only bounds what a missed
 * event could cost.
 */
const RECENT_USERS_MS = 30_000;
const RECENT_USERS_SIZE = 50_000;

/** A signed-in session: its id (null in tokens from before sessions had ids) and when its token expires. */
export interface Session {
  id: string | null;
  expiresAt: number;
}

export class UsersService {
  /**
   * Users read recently, so checking a request's session costs no database read, and neither
   * does resolving a live message's sender for its subscribers.
   */
  private readonly recent = new ExpiringMap<string, UserRow>(RECENT_USERS_MS, RECENT_USERS_SIZE);
  /** The sessions of recent users ended by logOut, kept and evicted like their rows. */
  private readonly revoked = new ExpiringMap<string, Set<string>>(RECENT_USERS_MS, RECENT_USERS_SIZE);
  private readonly changeListeners: Array<(userId: string) => void> = [];
  /** Bumped by every UserChanged event: a read that overlapped one is not cached. */
  private changes = 0;

  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
    private readonly tokens: TokenService,
    private readonly events: EventBus,
  ) {
    events.onUserChanged((userId) => this.forget(userId));
    // Changes made while the event consumer was paused were not seen: nothing cached is trusted.
    events.onResume(() => {
      this.changes++;
      this.recent.clear();
      this.revoked.clear();
    });
  }

  /** Called for every change of a user's row: by its event, and at once by the process that made it. */
  private forget(userId: string) {
    this.changes++;
    this.recent.delete(userId);
    this.revoked.delete(userId);
    for (const listener of this.changeListeners) listener(userId);
  }

  async signUp(input: {
    username: string;
    password: string;
    displayName: string;
    email?: string | null;
  }): Promise<AuthResult> {
    const valid = parseInput(signUpInput, input);
    const { userId } = await this.commands.execute(
      signUpCommand,
      {
        userId: randomUUID(),
        username: valid.username,
        displayName: valid.displayName,
        email: valid.email ?? null,
        passwordHash: await hashPassword(valid.password),
      },
      null,
    );
    const user = await this.requireById(userId);
    return { user, token: await this.tokens.issue({ userId, epoch: user.sessionEpoch, sessionId: randomUUID() }) };
  }

  async logIn(username: string, password: string): Promise<AuthResult> {
    const [user] = await this.db.select().from(users).where(eq(users.username, username.trim().toLowerCase()));
    // One message for both cases, so the API does not reveal which usernames exist.
    const valid = user ? await verifyPassword(password, user.passwordHash) : await verifyAgainstNobody(password);
    if (!user || !valid) throw unauthenticated("wrong username or password");
    const { epoch } = await this.commands.execute(logInCommand, { userId: user.id }, user.id);
    this.forget(user.id);
    const token = await this.tokens.issue({ userId: user.id, epoch, sessionId: randomUUID() });
    return { user: await this.requireById(user.id), token };
  }

  /** Ends the session `session` names (this device's); a token from before sessions had ids ends them all. */
  async logOut(viewer: UserRow, session: Session | null): Promise<boolean> {
    const ended = session?.id ? { id: session.id, expiresAt: new Date(session.expiresAt).toISOString() } : null;
    await this.commands.execute(logOutCommand, { userId: viewer.id, session: ended }, viewer.id);
    this.forget(viewer.id);
    return true;
  }

  async logOutEverywhere(viewer: UserRow): Promise<boolean> {
    await this.commands.execute(logOutEverywhereCommand, { userId: viewer.id }, viewer.id);
    this.forget(viewer.id);
    return true;
  }

  async updateStatusMessage(viewer: UserRow, statusMessage: string): Promise<UserRow> {
    const valid = parseInput(statusInput, { statusMessage });
    await this.commands.execute(
      updateStatusMessageCommand,
      { userId: viewer.id, statusMessage: valid.statusMessage },
      viewer.id,
    );
    this.forget(viewer.id);
    return this.requireById(viewer.id);
  }

  async deleteAccount(viewer: UserRow): Promise<boolean> {
    await this.commands.execute(deleteAccountCommand, { userId: viewer.id }, viewer.id);
    this.forget(viewer.id);
    return true;
  }

  async byUsername(username: string): Promise<UserRow | null> {
    const [user] = await this.db.select().from(users).where(eq(users.username, username.trim().toLowerCase()));
    return user ?? null;
  }

  /** What a token says, when it is well formed, signed by us and not expired; else null. */
  claims(token: string): Promise<VerifiedClaims | null> {
    return this.tokens.verify(token);
  }

  /**
   * The user a verified token belongs to, with the session it names and when it expires; null
   * when the token has expired or was logged out, or the user is gone. Checked at each use: a
   * WebSocket verifies its token once and asks this for each subscription.
   */
  async sessionOf(claims: VerifiedClaims): Promise<(Session & { user: UserRow }) | null> {
    if (claims.expiresAt <= Date.now()) return null;
    await this.events.awake(); // the cached users and revoked sessions are current only while events are read
    const user = await this.signedInUser(claims.userId);
    if (!user || user.sessionEpoch !== claims.epoch) return null;
    if (claims.sessionId && (await this.revokedSessionsOf(user.id)).has(claims.sessionId)) return null;
    return { user, id: claims.sessionId, expiresAt: claims.expiresAt };
  }

  private async revokedSessionsOf(userId: string): Promise<Set<string>> {
    const cached = this.revoked.get(userId);
    if (cached) return cached;
    const changesBefore = this.changes;
    const rows = await this.db
      .select({ id: revokedSessions.sessionId })
      .from(revokedSessions)
      .where(eq(revokedSessions.userId, userId));
    const ids = new Set(rows.map((r) => r.id));
    // A change that arrived while we read may be newer than what we read: do not keep it.
    if (this.changes === changesBefore) this.revoked.set(userId, ids);
    return ids;
  }

  /** Calls `listener` after every change of a user's row reaches this process (logout among them). */
  onChanged(listener: (userId: string) => void): void {
    this.changeListeners.push(listener);
  }

  private async signedInUser(id: string): Promise<UserRow | null> {
    const [user] = await this.byIds([id]);
    return user ?? null;
  }

  /** Users by id, from the recent-users cache where it has them (senders of messages, above all). */
  async byIds(ids: readonly string[]): Promise<UserRow[]> {
    const found: UserRow[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const cached = this.recent.get(id);
      if (cached) found.push(cached);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    const changesBefore = this.changes;
    const rows = await this.db.select().from(users).where(anyOf(users.id, missing));
    // A change that arrived while we read may be newer than what we read: do not keep it.
    if (this.changes === changesBefore) for (const user of rows) this.recent.set(user.id, user);
    return found.concat(rows);
  }

  private async requireById(id: string): Promise<UserRow> {
    const [user] = await this.db.select().from(users).where(eq(users.id, id));
    if (!user) throw unauthenticated("this account no longer exists");
    return user;
  }
}
