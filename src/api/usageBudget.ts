import { RateLimiterDrizzle, RateLimiterMemory } from "rate-limiter-flexible";
import type { Database } from "../db/client.js";
import { rateLimits } from "../db/schema.js";
import { AppError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";

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
const COUNT_INTERVAL_MS = 1000;
/** How often a process reads a key's shared count while the key is active here. */
const SHARED_READ_MS = 10_000;

export type BudgetName = "points" | "time";

/**
 * A budget per user over a minute, enforced in each API process's memory and shared through
 * PostgreSQL (table `rate_limits`) for the users who spend much of it. Spending is added up
 * in a plain map as it happens (a subscription event delivered costs a map update, nothing
 * more) and counted once a second, or at once when a key's uncounted spending passes 5% of
 * the budget: into this process's window, and, for a key past 5% of the budget, into the
 * shared count, whose answer tells whether the key is spent everywhere. A process also reads
 * a key's shared count when the key starts an operation here, at most every 10 s. An ordinary
 * reader costs a read per 10 s of activity; a heavy one, a statement per process each second
 * or each 5% of the budget; with N processes a user spends at most the budget plus N x 5% of
 * it and what is under way. Spending is recorded after the fact (bytes and time are
 * known only then), so an operation that starts with budget left runs to its own limits;
 * the next one is refused.
 */
export class UsageBudget {
  private readonly local: Record<BudgetName, RateLimiterMemory>;
  private readonly shared: Record<BudgetName, RateLimiterDrizzle>;
  /** Spent since the last count, by key. */
  private readonly pending: Record<BudgetName, Map<string, number>> = { points: new Map(), time: new Map() };
  /** Counted here but not yet told to the shared count, by key. */
  private readonly unsynced: Record<BudgetName, Map<string, number>> = { points: new Map(), time: new Map() };
  /** Keys that have spent a budget, until their window ends. */
  private readonly blockedUntil: Record<BudgetName, Map<string, number>> = { points: new Map(), time: new Map() };
  /** When this process last read a key's shared count (it learns of spending elsewhere so). */
  private readonly sharedReadAt = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private counting = false;
  private countAgain = false;

  constructor(
    db: Database,
    private readonly config: UsageBudgetConfig,
    private readonly logger: Logger,
  ) {
    const limits = { points: config.pointsPerMinute, time: config.timeMsPerMinute };
    const local = (name: BudgetName) =>
      new RateLimiterMemory({ keyPrefix: `budget-${name}`, points: limits[name], duration: 60 });
    this.local = { points: local("points"), time: local("time") };
    const shared = (name: BudgetName) =>
      new RateLimiterDrizzle({
        storeClient: db,
        schema: rateLimits,
        keyPrefix: `budget-${name}`,
        points: limits[name],
        duration: 60,
      });
    this.shared = { points: shared("points"), time: shared("time") };
    this.timer = setInterval(() => this.countSoon(), COUNT_INTERVAL_MS).unref();
  }

  /** TOO_MANY_REQUESTS when `key` has spent a budget here or (as last read) everywhere; before an operation. */
  async check(key: string): Promise<void> {
    const now = Date.now();
    if ((this.sharedReadAt.get(key) ?? 0) + SHARED_READ_MS < now) {
      this.sharedReadAt.set(key, now);
      await this.readShared(key);
    }
    const refused = this.refusal(key);
    if (refused) throw refused;
  }

  /** The error for a key that has spent a budget, as this process last counted; else null. */
  refusal(key: string): AppError | null {
    const now = Date.now();
    for (const name of BUDGETS) {
      const until = this.blockedUntil[name].get(key);
      if (until !== undefined && until > now) return spent(name, until - now);
    }
    return null;
  }

  /** Records spending; never throws (a later check refuses). */
  spend(key: string, name: BudgetName, amount: number): void {
    if (amount <= 0) return;
    const uncounted = (this.pending[name].get(key) ?? 0) + amount;
    this.pending[name].set(key, uncounted);
    // A client fast enough to spend 5% of its budget between two counts is counted at once:
    // otherwise it could spend several budgets within the second before the next count.
    if (uncounted >= this.limitOf(name) * SYNC_FRACTION) this.countSoon();
  }

  /** Checks, then spends (an operation's estimate, before it runs). */
  async spendOrRefuse(key: string, name: BudgetName, amount: number): Promise<void> {
    await this.check(key);
    this.spend(key, name, amount);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async readShared(key: string): Promise<void> {
    await Promise.all(
      BUDGETS.map(async (name) => {
        try {
          const res = await this.shared[name].get(key);
          if (res && res.remainingPoints <= 0) this.blockedUntil[name].set(key, Date.now() + res.msBeforeNext);
        } catch (error) {
          this.logger.warn({ err: error }, "could not read a shared usage budget; counting locally meanwhile");
        }
      }),
    );
  }

  /** Counts now, or right after the count under way (one at a time: each takes what is pending when it starts). */
  private countSoon(): void {
    if (this.counting) {
      this.countAgain = true;
      return;
    }
    this.counting = true;
    void this.count().finally(() => {
      this.counting = false;
      if (this.countAgain) {
        this.countAgain = false;
        this.countSoon();
      }
    });
  }

  private limitOf(name: BudgetName) {
    return name === "points" ? this.config.pointsPerMinute : this.config.timeMsPerMinute;
  }

  /** Once a second (or sooner, see spend): what was spent into this process's windows, and heavy spenders' into the shared count. */
  private async count(): Promise<void> {
    const now = Date.now();
    for (const [key, at] of this.sharedReadAt) if (at + SHARED_READ_MS < now) this.sharedReadAt.delete(key);
    for (const name of BUDGETS) {
      const blocked = this.blockedUntil[name];
      for (const [key, until] of blocked) if (until <= now) blocked.delete(key);
      const spentNow = [...this.pending[name]];
      this.pending[name].clear();
      for (const [key, amount] of spentNow) {
        const points = Math.ceil(amount);
        const res = await this.local[name].penalty(key, points);
        if (res.remainingPoints <= 0) blocked.set(key, now + res.msBeforeNext);
        this.unsynced[name].set(key, (this.unsynced[name].get(key) ?? 0) + points);
      }
      await this.share(name);
    }
  }

  /** Tells the shared count what keys past 5% of the budget spent here, and learns whether they are spent everywhere. */
  private async share(name: BudgetName): Promise<void> {
    const threshold = this.limitOf(name) * SYNC_FRACTION;
    for (const [key, points] of this.unsynced[name]) {
      if (points < threshold) {
        if (await this.local[name].get(key)) continue; // still in its window: keep adding up
        this.unsynced[name].delete(key); // a light user's window ended: nothing to tell
        continue;
      }
      this.unsynced[name].delete(key);
      try {
        const res = await this.shared[name].penalty(key, points);
        if (res.remainingPoints <= 0) this.blockedUntil[name].set(key, Date.now() + res.msBeforeNext);
      } catch (error) {
        this.logger.warn({ err: error }, "could not share a usage budget; counting locally meanwhile");
      }
    }
  }
}

const BUDGETS = ["points", "time"] as const;

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
