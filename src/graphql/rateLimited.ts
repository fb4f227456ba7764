import { MapperKind, mapSchema } from "@graphql-tools/utils";
import type { GraphQLSchema } from "graphql";
import type { GraphQLContext } from "./context.js";
import type { LimitName } from "./rateLimits.js";

/** The rate limits one call of a mutation counts against, each with the key it counts by. */
export type RateLimitClass = (
  args: Record<string, unknown>,
  ctx: GraphQLContext,
) => ReadonlyArray<{ limit: LimitName; key: string }>;

/** A mutation no feature classed: one of the signed-in user's mutations (signed-out calls are refused by the resolver). */
const perUser: RateLimitClass = (_args, ctx) => (ctx.viewer ? [{ limit: "mutationsPerUser", key: ctx.viewer.id }] : []);

/** Limits per signed-in user: a feature's class for its busiest mutations (sendMessage, setTyping). */
export const signedInLimit =
  (limit: LimitName): RateLimitClass =>
  (_args, ctx) =>
    ctx.viewer ? [{ limit, key: ctx.viewer.id }] : [];

/**
 * Every mutation counts against its rate limits (see rateLimits.ts) before its resolver runs:
 * the class its feature declares for it (FeatureModule.rateLimits), else one per user.
 */
export function withRateLimits(
  schema: GraphQLSchema,
  classes: Readonly<Record<string, RateLimitClass>>,
): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.MUTATION_ROOT_FIELD]: (field, fieldName) => {
      const { resolve } = field;
      if (!resolve) return field;
      const limitsOf = classes[fieldName] ?? perUser;
      return {
        ...field,
        resolve: async (source, args, ctx: GraphQLContext, info) => {
          for (const { limit, key } of limitsOf(args, ctx)) await ctx.services.rateLimits.consume(limit, key);
          return resolve(source, args, ctx, info);
        },
      };
    },
  });
}
