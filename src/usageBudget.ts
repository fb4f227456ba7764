import { RateLimiterDrizzle, RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { Database } from "./db/client.js";
import { rateLimits } from "./db/schema.js";
import { AppError } from "./errors.js";
import type { Logger } from "./logger.js";

export interface UsageBudgetConfig {
  /**
   * Points a user (or, signed out, a client address) may spend in a minute on queries and
   * subscriptions: an operation's estimated cost when it starts, then 1 per 100 bytes it
   * produced (for a subscription, per 100 bytes of each event it was sent).
   */
  pointsPerMinute: number;
  /** Milliseconds of execution a user (or address) may use in a minute, measured per operation. */
  timeMsPerMinute: number;
}

/** Bytes of output that cost one point (a page of 100 full-length messages, about 400 KB, costs 4,000). */
export const BYTES_PER_POINT = 100;

/** The share of a budget a process spends locally before it tells the shared count. */
const SYNC_FRACTION = 0.05;
const SYNC_INTERVAL_MS = 1000;
/** How often a process reads a key's shared count while the key is active here. */
const SHARED_READ_MS = 10_000;

export type BudgetName = "points" | "time";

/**
 * A budget per user over a minute, enforced in each API process's memory and shared through
 * PostgreSQL (table `rate_limits`) for the users who spend much of it: a process reports a
 * key's spending once it passes 5% of the budget, at most once a second per key, and reads
 * a key's shared count when the key starts an operation here, at most every 10 s. An ordinary
 * reader costs a read per 10 s of activity; a heavy one, one statement a second per process; with N processes a user
 * spends at most the budget plus N x 5% of it. Spending is recorded after the fact (bytes and
 * time are known only then), so an operation that starts with budget left runs to its own
 * limits; the next one is refused.
 */
export class UsageBudget {
  private readonly local: Record<BudgetName, RateLimiterMemory>;
  private readonly shared: Record<BudgetName, RateLimiterDrizzle>;
  private readonly unsynced = new Map<string, number>();
  private readonly blockedUntil = new Map<string, number>();
  /** When this process last read a key's shared count (it learns of spending elsewhere so). */
  private readonly sharedReadAt = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    db: Database,
    private readonly config: UsageBudgetConfig,
    private readonly logger: Logger,
  ) {
    const limits = { points: config.pointsPerMinute, time: config.timeMsPerMinute };
    this.local = {
      points: new RateLimiterMemory({ keyPrefix: "budget-points", points: limits.points, duration: 60 }),
      time: new RateLimiterMemory({ keyPrefix: "budget-time", points: limits.time, duration: 60 }),
    };
    const shared = (name: BudgetName) =>
      new RateLimiterDrizzle({
        storeClient: db,
        schema: rateLimits,
        keyPrefix: `budget-${name}`,
        points: limits[name],
        duration: 60,
      });
    this.shared = { points: shared("points"), time: shared("time") };
    this.timer = setInterval(() => void this.sync(), SYNC_INTERVAL_MS).unref();
  }

  /**
   * TOO_MANY_REQUESTS when `key` has spent a budget here or (as last read) everywhere.
   * `readShared: false` (each subscription event) relies on what this process last learnt.
   */
  async check(key: string, readShared = true): Promise<void> {
    const now = Date.now();
    if (readShared && (this.sharedReadAt.get(key) ?? 0) + SHARED_READ_MS < now) {
      // Once per key and SHARED_READ_MS: what other processes told the shared count.
      this.sharedReadAt.set(key, now);
      await this.readShared(key);
    }
    for (const name of ["points", "time"] as const) {
      const until = this.blockedUntil.get(`${name}|${key}`);
      if (until !== undefined && until > Date.now()) throw spent(name, until - Date.now());
      const res = await this.local[name].get(key);
      if (res && res.remainingPoints <= 0) throw spent(name, res.msBeforeNext);
    }
  }

  /** Records spending; never throws (the next check refuses). */
  spend(key: string, name: BudgetName, amount: number): void {
    if (amount <= 0) return;
    const points = Math.ceil(amount);
    this.local[name].penalty(key, points).catch(() => {});
    const id = `${name}|${key}`;
    this.unsynced.set(id, (this.unsynced.get(id) ?? 0) + points);
  }

  /** Spends `name` and refuses at once when that spent the budget (an operation's estimate, before it runs). */
  async spendOrRefuse(key: string, name: BudgetName, amount: number): Promise<void> {
    await this.check(key);
    this.spend(key, name, amount);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async readShared(key: string): Promise<void> {
    for (const name of ["points", "time"] as const) {
      try {
        const res = await this.shared[name].get(key);
        if (res && res.remainingPoints <= 0) this.blockedUntil.set(`${name}|${key}`, Date.now() + res.msBeforeNext);
      } catch (error) {
        this.logger.warn({ err: error }, "could not read a shared usage budget; counting locally meanwhile");
      }
    }
  }

  private async sync(): Promise<void> {
    const now = Date.now();
    for (const [id, until] of this.blockedUntil) if (until <= now) this.blockedUntil.delete(id);
    for (const [key, at] of this.sharedReadAt) if (at + SHARED_READ_MS < now) this.sharedReadAt.delete(key);
    for (const [id, points] of this.unsynced) {
      const name = id.slice(0, id.indexOf("|")) as BudgetName;
      const budget = name === "points" ? this.config.pointsPerMinute : this.config.timeMsPerMinute;
      if (points < budget * SYNC_FRACTION) {
        const res = await this.local[name].get(id.slice(name.length + 1));
        if (res) continue; // still in its window: keep adding up
      }
      this.unsynced.delete(id);
      if (points < budget * SYNC_FRACTION) continue; // a light user's window ended: nothing to tell
      try {
        const res = await this.shared[name].penalty(id.slice(name.length + 1), points);
        if (res.remainingPoints <= 0) this.blockedUntil.set(id, now + res.msBeforeNext);
      } catch (error) {
        this.logger.warn({ err: error }, "could not share a usage budget; counting locally meanwhile");
      }
    }
  }
}

function spent(name: BudgetName, msBeforeNext: number) {
  const retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  const what = name === "points" ? "query and subscription budget" : "execution time budget";
  return new AppError(
    "TOO_MANY_REQUESTS",
    `you have used your ${what} for this minute; retry in ${retryAfterSeconds} s`,
    {
      limit: name === "points" ? "usagePointsPerUser" : "usageTimePerUser",
      retryAfterSeconds,
    },
  );
}
