import { MapperKind, mapSchema } from "@graphql-tools/utils";
import {
  defaultFieldResolver,
  getNamedType,
  GraphQLError,
  isLeafType,
  type ExecutionResult,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from "graphql";

/** Error code of a response (or one subscription event) that grew past its byte limit while it was built. */
export const RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE";

/**
 * The bytes one execution has produced so far, counted as its fields resolve (the response
 * key, the quotes and colon, the value's JSON length; strings by their UTF-16 length, which
 * undercounts non-ASCII text by at most 3x, so limits are set with that in mind).
 */
export class ResponseBudget {
  used = 0;
  exceeded = false;

  constructor(readonly limit: number) {}

  charge(bytes: number): void {
    this.used += bytes;
    if (this.used <= this.limit) return;
    this.exceeded = true;
    throw tooLarge(this.limit);
  }
}

export const tooLarge = (limit: number) =>
  new GraphQLError(`the response grew past ${limit} bytes while it was built; ask for fewer fields or smaller lists`, {
    extensions: { code: RESPONSE_TOO_LARGE, limit },
  });

/** What a context carries for its current execution; without one, nothing is counted. */
export interface HasResponseBudget {
  responseBudget?: ResponseBudget;
}

function valueSize(value: unknown): number {
  if (typeof value === "string") return value.length + 2;
  if (value === null || value === undefined) return 4;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + valueSize(item) + 1, 2);
  return value instanceof Date ? 26 : 10;
}

/**
 * Every field counts what it adds to the response while execution builds it, so a response
 * is stopped at its limit instead of being built whole and measured afterwards (a 19,800-cost
 * selection of nested pages of 4 KB messages built 36 MB before anyone could refuse it). Once
 * over, every later field throws, so the rest of the tree is not built either.
 */
export function withResponseBudget(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field) => {
      const resolve: GraphQLFieldResolver<unknown, HasResponseBudget> = field.resolve ?? defaultFieldResolver;
      const leaf = isLeafType(getNamedType(field.type));
      return {
        ...field,
        resolve(source, args, ctx, info) {
          const budget = ctx?.responseBudget;
          if (!budget) return resolve(source, args, ctx, info);
          if (budget.exceeded) throw tooLarge(budget.limit);
          const keyBytes = String(info.path.key).length + 4;
          if (!leaf) {
            budget.charge(keyBytes);
            return resolve(source, args, ctx, info);
          }
          const value = resolve(source, args, ctx, info);
          if (value instanceof Promise) return value.then((v) => (budget.charge(keyBytes + valueSize(v)), v));
          budget.charge(keyBytes + valueSize(value));
          return value;
        },
      };
    },
  });
}

/** The one error a client gets for a response past its limit, in place of what was built of it. */
export function tooLargeResult(budget: ResponseBudget): ExecutionResult {
  return { errors: [tooLarge(budget.limit)] };
}
