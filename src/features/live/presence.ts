import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { ExpiringMap } from "../../shared/collections.js";
import type { CommandBus, EventBus } from "../../commands/ports.js";
import type { PresenceReport } from "../../commands/protocol.js";
import type { Logger } from "../../shared/logger.js";
import { recordLastSeenCommand } from "./live.commands.js";

/** A user came online or went offline, across all API processes. */
export interface PresenceChange {
  type: "PresenceChanged";
  userId: string;
  online: boolean;
  lastSeenAt: Date | null;
}

export interface PresenceOptions {
  /** How often each API process reports all its connected users. */
  heartbeatMs: number;
  /** A process not heard from for this long is gone, and so are its users. */
  timeoutMs: number;
}

/** How often a user's lastSeenAt may be written. */
const LAST_SEEN_WRITE_MS = 30_000;

/**
 * Who is online, from the WebSockets of every API process. Each process counts its own
 * sockets per user and reports changes (a user's first socket opened, last one closed) on
 * the presence channel, plus all its users every `heartbeatMs`; every process merges the
 * reports, so a user is online while any process has them, and the users of a process that
 * stops reporting (killed) go offline `timeoutMs` later. Nothing here is stored but a user's
 * lastSeenAt, written through the workers when their last socket on a process closes.
 */
export class Presence {
  readonly processId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly local = new Map<string, number>();
  private readonly processes = new Map<string, { users: Set<string>; heardAt: number }>();
  /** Users who went offline while this process watched (older ones: the database's last_seen_at). */
  private readonly lastSeen = new ExpiringMap<string, Date>(24 * 3600_000, 100_000);
  private readonly listeners = new Set<(change: PresenceChange) => void>();
  private changes = { online: new Set<string>(), offline: new Set<string>() };
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private unlisten = () => {};
  /** Users whose lastSeenAt was written in the last LAST_SEEN_WRITE_MS, and the write pending after it, if any. */
  private readonly lastSeenWrites = new Map<string, NodeJS.Timeout | null>();

  constructor(
    private readonly events: EventBus,
    private readonly commands: CommandBus,
    private readonly options: PresenceOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.unlisten = this.events.onPresence((report) => this.apply(report));
    this.timer = setInterval(() => {
      this.report(true);
      this.expire();
    }, this.options.heartbeatMs).unref();
  }

  /** Tells the other processes that this one's users are gone (they would notice in `timeoutMs` anyway). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unlisten();
    this.local.clear();
    if (this.processes.has(this.processId)) await this.publish({ full: true, online: [], offline: [] });
  }

  /** A WebSocket of `userId` opened on this process. */
  connected(userId: string): void {
    const sockets = (this.local.get(userId) ?? 0) + 1;
    this.local.set(userId, sockets);
    if (sockets === 1) this.queue(userId, true);
  }

  /** A WebSocket of `userId` on this process closed. */
  disconnected(userId: string): void {
    const sockets = (this.local.get(userId) ?? 0) - 1;
    if (sockets > 0) return void this.local.set(userId, sockets);
    this.local.delete(userId);
    this.queue(userId, false);
    this.recordLastSeen(userId);
  }

  /**
   * At most one lastSeenAt write per user every LAST_SEEN_WRITE_MS: a client that connects
   * and disconnects in a loop would otherwise make a command (and a row update) of each
   * close. The last close of a burst is written when the interval ends, with its own time.
   */
  private recordLastSeen(userId: string): void {
    const at = new Date().toISOString();
    const write = () => {
      this.lastSeenWrites.set(userId, null);
      setTimeout(
        () => this.lastSeenWrites.get(userId) === null && this.lastSeenWrites.delete(userId),
        LAST_SEEN_WRITE_MS,
      ).unref();
      this.commands
        .execute(recordLastSeenCommand, { userId, at }, userId)
        .catch((error) => this.logger.warn({ err: error, userId }, "could not record lastSeenAt"));
    };
    if (!this.lastSeenWrites.has(userId)) return write();
    const pending = this.lastSeenWrites.get(userId);
    if (pending) clearTimeout(pending);
    this.lastSeenWrites.set(userId, setTimeout(write, LAST_SEEN_WRITE_MS).unref());
  }

  isOnline(userId: string): boolean {
    for (const { users } of this.processes.values()) if (users.has(userId)) return true;
    return false;
  }

  /** Now while online; when the user went offline while this process watched; else undefined (ask the database). */
  lastSeenAt(userId: string): Date | undefined {
    return this.isOnline(userId) ? new Date() : this.lastSeen.get(userId);
  }

  onChange(listener: (change: PresenceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Changes leave together, once per turn of the event loop (a reconnecting client closes and opens). */
  private queue(userId: string, online: boolean) {
    (online ? this.changes.offline : this.changes.online).delete(userId);
    (online ? this.changes.online : this.changes.offline).add(userId);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.report(false);
    });
  }

  private report(full: boolean) {
    const { online, offline } = this.changes;
    this.changes = { online: new Set(), offline: new Set() };
    // A process without users need not be heard from: its last user's going is a change.
    if (full && this.local.size > 0) void this.publish({ full, online: [...this.local.keys()], offline: [] });
    else if (online.size + offline.size > 0) void this.publish({ full, online: [...online], offline: [...offline] });
  }

  private async publish(report: Omit<PresenceReport, "type" | "processId">) {
    try {
      await this.events.publish({ type: "PresenceReport", processId: this.processId, ...report });
    } catch (error) {
      // The next heartbeat carries the whole state again.
      this.logger.warn({ err: error }, "could not publish presence");
    }
  }

  /** Merges one process's report; users whose online state changed are announced. */
  private apply(report: PresenceReport) {
    const touched = report.full
      ? new Set([...(this.processes.get(report.processId)?.users ?? []), ...report.online])
      : new Set([...report.online, ...report.offline]);
    const before = new Map([...touched].map((u) => [u, this.isOnline(u)]));
    const entry = this.processes.get(report.processId) ?? { users: new Set<string>(), heardAt: 0 };
    entry.heardAt = Date.now();
    if (report.full) entry.users = new Set(report.online);
    for (const u of report.online) entry.users.add(u);
    for (const u of report.offline) entry.users.delete(u);
    if (entry.users.size > 0 || !report.full) this.processes.set(report.processId, entry);
    else this.processes.delete(report.processId);
    this.announce(before);
  }

  /** Processes not heard from for `timeoutMs` are gone, with their users. */
  private expire() {
    // Reports cannot reach a process whose event stream is down: silence is not absence then.
    if (!this.events.connected) return;
    const cutoff = Date.now() - this.options.timeoutMs;
    for (const [id, entry] of this.processes) {
      if (entry.heardAt >= cutoff || id === this.processId) continue;
      const before = new Map([...entry.users].map((u) => [u, true]));
      this.processes.delete(id);
      this.logger.info({ processId: id, users: entry.users.size }, "API process stopped reporting presence");
      this.announce(before);
    }
  }

  private announce(before: Map<string, boolean>) {
    for (const [userId, wasOnline] of before) {
      const online = this.isOnline(userId);
      if (online === wasOnline) continue;
      const lastSeenAt = new Date();
      if (!online) this.lastSeen.set(userId, lastSeenAt);
      const change: PresenceChange = {
        type: "PresenceChanged",
        userId,
        online,
        lastSeenAt: online ? null : lastSeenAt,
      };
      for (const listener of this.listeners) listener(change);
    }
  }
}
