import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  getNullableType,
  GraphQLError,
  isListType,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationContext,
} from "graphql";
import { getComplexity, simpleEstimator, type ComplexityEstimator } from "graphql-query-complexity";

export interface OperationLimitsConfig {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  maxCost: number;
}

/** Error code of an operation refused for its size; the message names the limit and the value found. */
export const OPERATION_LIMIT_EXCEEDED = "OPERATION_LIMIT_EXCEEDED";

/** graphql-query-complexity's bound on the fields it visits (its default). */
const MAX_COUNTED_FIELDS = 10_000;

/** What a list without a size argument (a room's members, a user's friends) is counted as. */
const ASSUMED_LIST_SIZE = 20;

/**
 * A list costs its size (`last`, `first`, or their defaults) times what one item costs, so
 * nesting `messages(last: 100)` three deep costs a million, not three hundred.
 */
const listSizeEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (!isListType(getNullableType(field.type))) return undefined;
  const size = [args.last, args.first].find((n): n is number => typeof n === "number") ?? ASSUMED_LIST_SIZE;
  return size * (1 + childComplexity);
};

const limitError = (message: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code: OPERATION_LIMIT_EXCEEDED, ...extensions } });

/**
 * The same limits for HTTP and WebSocket operations (graphql-ws does not run Apollo plugins):
 * depth, aliases and directives (GraphQL Armor's rules), tokens (graphql-js's parser), and a
 * cost that multiplies by list sizes (graphql-query-complexity). Checked once the variables
 * are known, since `last: $n` decides the cost.
 */
export function createOperationLimits(schema: GraphQLSchema, config: OperationLimitsConfig) {
  // Reported like any validation error (Armor would otherwise throw out of validate()).
  const rejectAsLimit = {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
  };
  const rules = [
    maxDepthRule({ n: config.maxDepth, ...rejectAsLimit }),
    maxAliasesRule({ n: config.maxAliases, ...rejectAsLimit }),
    maxDirectivesRule({ n: config.maxDirectives, ...rejectAsLimit }),
  ];
  const sizeChecked = new WeakSet<DocumentNode>();

  return {
    parseOptions: { maxTokens: config.maxTokens },

    /** Errors for an operation past a limit, or none. */
    check(document: DocumentNode, operationName?: string | null, variables?: Record<string, unknown> | null) {
      if (!sizeChecked.has(document)) {
        const errors = validate(schema, document, rules);
        // Armor's messages name the limit and what was found; its "Syntax Error: " prefix misleads.
        if (errors.length > 0) return errors.map((e) => limitError(e.message.replace(/^Syntax Error: /, "")));
        sizeChecked.add(document);
      }
      let cost: number;
      try {
        cost = getComplexity({
          schema,
          query: document,
          operationName: operationName ?? undefined,
          variables: variables ?? {},
          estimators: [listSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
          maxQueryNodes: MAX_COUNTED_FIELDS,
        });
      } catch (error) {
        if (/maximum allowed number of nodes/.test((error as Error).message))
          return [
            limitError(`operation selects more than ${MAX_COUNTED_FIELDS} fields, counting fragments where used`),
          ];
        return []; // variables that do not fit the operation: execution reports them as usual
      }
      if (cost <= config.maxCost) return [];
      return [
        limitError(`operation cost ${cost} exceeds the limit of ${config.maxCost}; ask for fewer or smaller lists`, {
          limit: config.maxCost,
          cost,
        }),
      ];
    },
  };
}

export type OperationLimits = ReturnType<typeof createOperationLimits>;
