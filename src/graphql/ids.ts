import { getNamedType, type GraphQLSchema } from "graphql";
import { MapperKind, mapSchema } from "@graphql-tools/utils";

import { isUuid } from "../shared/validation.js";

/**
 * Every id in the API is a UUID, and PostgreSQL reads one in any case: without one spelling,
 * "the same id" compared unequal in membership checks, self-checks and events (leaving a room
 * by its upper-case id left the open stream running). Values that are not UUIDs pass as they
 * are: no row has them, and the resolver answers NOT_FOUND for its own field.
 */
export const canonicalId = (id: string) => (isUuid(id) ? id.toLowerCase() : id);

/** The schema with every root field's `ID` arguments (and lists of them) canonical before its resolver sees them. */
export function withCanonicalIds(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.ROOT_FIELD]: (field) => {
      const idArgs = Object.entries(field.args ?? {})
        .filter(([, arg]) => getNamedType(arg.type).name === "ID")
        .map(([name]) => name);
      if (idArgs.length === 0) return field;
      const canonical = (args: Record<string, unknown>) => {
        const out = { ...args };
        for (const name of idArgs) {
          const value = out[name];
          if (typeof value === "string") out[name] = canonicalId(value);
          else if (Array.isArray(value)) out[name] = value.map((v) => (typeof v === "string" ? canonicalId(v) : v));
        }
        return out;
      };
      const { resolve, subscribe } = field;
      return {
        ...field,
        resolve: resolve && ((source, args, context, info) => resolve(source, canonical(args), context, info)),
        subscribe: subscribe && ((source, args, context, info) => subscribe(source, canonical(args), context, info)),
      };
    },
  });
}
