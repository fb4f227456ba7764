import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import { Counts } from "../shared/collections.js";
import { AppError, asGraphQLError } from "../shared/errors.js";
import type { GraphQLContext } from "../graphql/context.js";
import { BYTES_PER_POINT, type UsageBudget } from "./usageBudget.js";
import type { OperationLimits } from "./operationLimits.js";
import { tooLarge } from "../graphql/responseBudget.js";

/**
 * What an HTTP operation may cost, checked before it runs and counted after:
 * - the operation limits (depth, aliases, names, cost), refused with 400;
 * - queries a user (or signed-out address) runs at once in this process, refused with 429 past
 *   `maxConcurrentQueries` (mutations wait on Kafka and have their own rate limits);
 * - for queries, the usage budget: the estimated cost when it starts, then the bytes it
 *   produced and the milliseconds it took; a spent budget refuses the next query with 429;
 * - the response's byte limit (counted while it is built, see responseBudget.ts): past it, the
 *   response is the one RESPONSE_TOO_LARGE error instead of what was built.
 */
export function budgetsPlugin(
  limits: OperationLimits,
  usage: UsageBudget,
  maxConcurrentQueries: number,
): ApolloServerPlugin<GraphQLContext> {
  const running = new Counts<string>();
  return {
    async requestDidStart() {
      const started = performance.now();
      let query = false;
      return {
        async didResolveOperation({ document, operationName, request, operation, contextValue }) {
          const { errors, cost } = limits.check(document, operationName, request.variables);
          if (errors[0])
            throw new GraphQLError(errors[0].message, {
              extensions: { ...errors[0].extensions, http: { status: 400 } },
            });
          const key = contextValue.usageKey;
          if (operation?.operation === "query") {
            if (running.get(key) >= maxConcurrentQueries) {
              const message = `more than ${maxConcurrentQueries} queries at once; wait for one to finish`;
              throw asGraphQLError(
                new AppError("TOO_MANY_REQUESTS", message, { limit: "concurrentQueriesPerUser" }),
                429,
              );
            }
            running.increment(key);
            query = true;
          }
          if (!query) return; // mutations have rate limits of their own, and wait on Kafka
          try {
            await usage.spendOrRefuse(key, "points", cost);
          } catch (error) {
            if (error instanceof AppError) throw asGraphQLError(error, 429);
            throw error;
          }
        },
        async willSendResponse({ response, contextValue }) {
          const key = contextValue.usageKey;
          if (query) {
            running.decrement(key);
            usage.spend(key, "time", performance.now() - started);
          }
          const budget = contextValue.responseBudget;
          if (!budget) return;
          if (query) usage.spend(key, "points", budget.used / BYTES_PER_POINT);
          if (budget.exceeded && response.body.kind === "single")
            response.body.singleResult = { errors: [tooLarge(budget.limit).toJSON()] };
        },
      };
    },
  };
}
