import { readFileSync } from "node:fs";
import path from "node:path";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { DateTimeResolver } from "graphql-scalars";
import type { GraphQLSchema } from "graphql";
import type { ApiFeature } from "../features/module.js";
import { schemaDir } from "../shared/paths.js";
import type { Resolvers } from "../graphql/generated/resolvers.js";
import { withCanonicalIds } from "../graphql/ids.js";
import { withRateLimits } from "../graphql/rateLimited.js";
import { withResponseBudget } from "../graphql/responseBudget.js";

/** What every feature's SDL may use (scalars, directives). */
export const COMMON_SCHEMA_FILE = "common.graphql";

/** The SDL: the common file and each feature's own, from schema/. */
function loadTypeDefs(features: readonly Pick<ApiFeature, "schemaFile">[]): string[] {
  return [COMMON_SCHEMA_FILE, ...features.map((f) => f.schemaFile)].map((file) =>
    readFileSync(path.join(schemaDir, file), "utf8"),
  );
}

export function buildSchema(features: readonly ApiFeature[]): GraphQLSchema {
  const resolvers: Resolvers[] = [{ DateTime: DateTimeResolver }, ...features.map((f) => f.resolvers)];
  return withResponseBudget(
    withRateLimits(
      withCanonicalIds(makeExecutableSchema({ typeDefs: loadTypeDefs(features), resolvers })),
      Object.assign({}, ...features.map((f) => f.rateLimits ?? {})),
    ),
  );
}
