import { MapperKind, mapSchema } from "@graphql-tools/utils";
import type { GraphQLSchema } from "graphql";
import type { GraphQLContext } from "./context.js";

/** Which limit each mutation counts against, and by what key; undefined: not limited. */
function limitOf(field: string, args: Record<string, unknown>, ctx: GraphQLContext) {
  switch (field) {
    case "logIn":
      return [
        {
          limit: "logInPerAddressAndUsername",
          key: `${ctx.clientAddress}|${String(args.username).trim().toLowerCase()}`,
        },
        { limit: "logInPerAddress", key: ctx.clientAddress },
      ] as const;
    case "signUp":
      return [{ limit: "signUpPerAddress", key: ctx.clientAddress }] as const;
    case "sendMessage":
      return ctx.viewer ? ([{ limit: "messagesPerUser", key: ctx.viewer.id }] as const) : [];
    case "setTyping": // clients call it per keystroke; repeats cost a map lookup (features/live/typing.ts)
      return ctx.viewer ? ([{ limit: "typingPerUser", key: ctx.viewer.id }] as const) : [];
    default:
      return ctx.viewer ? ([{ limit: "mutationsPerUser", key: ctx.viewer.id }] as const) : [];
  }
}

/** Every mutation counts against its rate limits (see src/rateLimits.ts) before its resolver runs. */
export function withRateLimits(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.MUTATION_ROOT_FIELD]: (field, fieldName) => {
      const { resolve } = field;
      if (!resolve) return field;
      return {
        ...field,
        resolve: async (source, args, ctx: GraphQLContext, info) => {
          for (const { limit, key } of limitOf(fieldName, args, ctx)) await ctx.services.rateLimits.consume(limit, key);
          return resolve(source, args, ctx, info);
        },
      };
    },
  });
}
