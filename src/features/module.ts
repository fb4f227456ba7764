import type { TokenService } from "../auth/tokens.js";
import type { CommandBus, EventBus } from "../commands/ports.js";
import type { AnyCommand, DeletionHooks } from "../commands/protocol.js";
import type { Config } from "../config/env.js";
import type { Database } from "../db/client.js";
import type { Resolvers } from "../graphql/generated/resolvers.js";
import type { RateLimitClass } from "../graphql/rateLimited.js";
import type { Logger } from "../shared/logger.js";
import type { RateLimits } from "../graphql/rateLimits.js";

/** What every feature's services are built from (the API role's parts). */
export interface ServiceDeps {
  config: Config;
  logger: Logger;
  db: Database;
  commands: CommandBus;
  events: EventBus;
  tokens: TokenService;
  rateLimits: RateLimits;
}

/**
 * Every service of the API, by name. Each feature adds its own in its `index.ts`
 * (`declare module "../module.js" { interface Services { rooms: RoomsService } }`), so a
 * new feature touches its own folder only.
 */
export interface Services {
  rateLimits: RateLimits;
}

/**
 * One feature, registered once (in the spirit of GraphQL Hive's `createModule`): its SDL file
 * in schema/, the commands its workers apply, what it does when an account or a message is
 * deleted, and its API part. app.ts reads the list in features/index.ts and nothing else of
 * a feature.
 */
export interface FeatureModule {
  name: string;
  /** The feature's SDL file in schema/ (the public contract lives there, one file per domain). */
  schemaFile: string;
  commands: readonly AnyCommand[];
  /**
   * Features whose services or rows this one uses: they must be listed before it (checked
   * when the list is built, see `inDependencyOrder`).
   */
  requires?: readonly string[];
  /** What becomes of this feature's rows when an account or a message is deleted. */
  onAccountDeleted?: DeletionHooks["accountDeleted"];
  onMessageDeleted?: DeletionHooks["messageDeleted"];
  /** The API's part, loaded by API processes only: a worker never loads resolvers or services. */
  api(): Promise<FeatureApi>;
}

/** What a feature adds to an API process. */
export interface FeatureApi {
  resolvers: Resolvers;
  /** The rate limits of this feature's mutations, by field name (default: `mutationsPerUser`). */
  rateLimits?: Readonly<Record<string, RateLimitClass>>;
  /**
   * Adds the feature's services to `services`. Features are built in list order, so a
   * service may take those of the features listed before its own.
   */
  addServices(deps: ServiceDeps, services: Services): void;
  /** Called when the API stops, before the event bus does. */
  stop?(services: Services): Promise<void>;
  /** Told when a user's authenticated WebSocket opens and closes on this process (presence). */
  connections?(services: Services): ConnectionListener;
}

/** A feature with its API part loaded. */
export type ApiFeature = FeatureApi & { name: string; schemaFile: string };

export interface ConnectionListener {
  opened(userId: string): void;
  closed(userId: string): void;
}

export const defineFeature = (feature: FeatureModule) => feature;

/**
 * The feature list as given, once every feature's `requires` is listed before it: services
 * are built in this order, so a later one can take an earlier one's (a wrong order would
 * otherwise show up as an undefined service at run time).
 */
export function inDependencyOrder(features: readonly FeatureModule[]): readonly FeatureModule[] {
  const seen = new Set<string>();
  for (const feature of features) {
    const missing = (feature.requires ?? []).filter((name) => !seen.has(name));
    if (missing.length > 0)
      throw new Error(`feature ${feature.name} requires ${missing.join(", ")}, which must be listed before it`);
    seen.add(feature.name);
  }
  return features;
}

/** Every feature's deletion hooks, called in list order. */
export function deletionHooksOf(features: readonly FeatureModule[]): DeletionHooks {
  return {
    async accountDeleted(tx, userId, roomIds) {
      for (const f of features) await f.onAccountDeleted?.(tx, userId, roomIds);
    },
    async messageDeleted(tx, messageId) {
      for (const f of features) await f.onMessageDeleted?.(tx, messageId);
    },
  };
}
