import { RateLimiterDrizzle, RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Database } from "../db/client.js";
import { rateLimits } from "../db/schema.js";
import { AppError } from "../shared/errors.js";

export interface RateLimitsConfig {
  /**
   * Sign-in attempts for one username from one address, and from one address in all, in 15
   * minutes (shared by all API processes). No limit per username alone: a stranger guessing
   * from anywhere would then lock its owner out.
   */
  logInPerAddressAndUsername: number;
  logInPerAddress: number;
  /** Sign-ups per client address in an hour (shared). */
  signUpPerAddress: number;
  /** Messages per user in 10 seconds (per API process). */
  messagesPerUser: number;
  /** Other mutations per user in a minute (per API process). */
  mutationsPerUser: number;
  /** setTyping calls per user in 10 seconds (per API process): a fast typist's keystrokes. */
  typingPerUser: number;
}

export type LimitName = keyof RateLimitsConfig;

/**
 * Rate limits with rate-limiter-flexible. Sign-in and sign-up limits are counted in
 * PostgreSQL, so a brute force spread over API processes meets the same limit (each attempt
 * costs a scrypt hash anyway, far more than the row). Message and mutation limits are
 * counted in each API process's memory: a database write per message would cost every
 * message what the limit only rarely needs; with N API processes a user may reach N times
 * the limit, which a load balancer with sticky sessions keeps at 1.
 */
export function createRateLimits(db: Database, config: RateLimitsConfig) {
  const shared = (keyPrefix: string, points: number, duration: number) =>
    new RateLimiterDrizzle({
      storeClient: db,
      schema: rateLimits,
      keyPrefix,
      points,
      duration,
      // While the database is away, each process goes on counting in memory.
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
    });
  const local = (keyPrefix: string, points: number, duration: number) =>
    new RateLimiterMemory({ keyPrefix, points, duration });
  const limiters: Record<LimitName, RateLimiterAbstract> = {
    logInPerAddressAndUsername: shared("login-address-user", config.logInPerAddressAndUsername, 15 * 60),
    logInPerAddress: shared("login-address", config.logInPerAddress, 15 * 60),
    signUpPerAddress: shared("signup-address", config.signUpPerAddress, 60 * 60),
    messagesPerUser: local("messages", config.messagesPerUser, 10),
    mutationsPerUser: local("mutations", config.mutationsPerUser, 60),
    typingPerUser: local("typing", config.typingPerUser, 10),
  };
  return {
    /** Counts one attempt; TOO_MANY_REQUESTS with `retryAfterSeconds` past the limit. */
    async consume(limit: LimitName, key: string): Promise<void> {
      try {
        await limiters[limit].consume(key);
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
        const retryAfterSeconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
        throw new AppError("TOO_MANY_REQUESTS", `too many requests (${limit}); retry in ${retryAfterSeconds} s`, {
          limit,
          retryAfterSeconds,
        });
      }
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
