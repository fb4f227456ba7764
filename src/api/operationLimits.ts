import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  getNullableType,
  GraphQLError,
  isListType,
  validate,
  Kind,
  visit,
  type ArgumentNode,
  type ASTVisitor,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationContext,
} from "graphql";
import { directiveEstimator, getComplexity, simpleEstimator, type ComplexityEstimator } from "graphql-query-complexity";

export interface OperationLimitsConfig {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  maxCost: number;
  /** Longest name (alias, field, fragment, variable, operation) an operation may use. */
  maxNameLength: number;
}

/** An operation's verdict: errors if it is past a limit, and its estimated cost. */
export interface OperationVerdict {
  errors: GraphQLError[];
  cost: number;
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
    maxNameLengthRule(config.maxNameLength),
  ];
  /** Verdicts on operations whose cost no variable changes: most (sendMessage among them) are checked once. */
  const fixed = new WeakMap<DocumentNode, Map<string, OperationVerdict>>();

  return {
    parseOptions: { maxTokens: config.maxTokens },

    /** The operation's estimated cost, and errors if it is past a limit. */
    check(
      document: DocumentNode,
      operationName?: string | null,
      variables?: Record<string, unknown> | null,
    ): OperationVerdict {
      const name = operationName ?? "";
      const known = fixed.get(document)?.get(name);
      if (known) return known;
      // Armor's messages name the limit and what was found; its "Syntax Error: " prefix misleads.
      const sizeErrors = validate(schema, document, rules).map((e) =>
        limitError(e.message.replace(/^Syntax Error: /, "")),
      );
      const verdict =
        sizeErrors.length > 0
          ? { errors: sizeErrors, cost: 0 }
          : costVerdict(schema, config.maxCost, { document, operationName: operationName ?? undefined, variables });
      if (!verdict) return { errors: [], cost: 0 };
      if (!variablesShapeCost(document)) {
        if (!fixed.has(document)) fixed.set(document, new Map());
        fixed.get(document)!.set(name, verdict);
      }
      return verdict;
    },
  };
}

/** The operation's cost with these variables, and the error past the limit; null when the variables do not fit it. */
function costVerdict(
  schema: GraphQLSchema,
  maxCost: number,
  operation: { document: DocumentNode; operationName?: string; variables?: Record<string, unknown> | null },
): OperationVerdict | null {
  let cost: number;
  try {
    cost = getComplexity({
      schema,
      query: operation.document,
      operationName: operation.operationName,
      variables: operation.variables ?? {},
      // `@complexity(value: n)` in the SDL: a field that can be large (a message body) costs its size.
      estimators: [listSizeEstimator, directiveEstimator(), simpleEstimator({ defaultComplexity: 1 })],
      maxQueryNodes: MAX_COUNTED_FIELDS,
    });
  } catch (error) {
    if (/maximum allowed number of nodes/.test((error as Error).message)) {
      const message = `operation selects more than ${MAX_COUNTED_FIELDS} fields, counting fragments where used`;
      return { errors: [limitError(message)], cost: 0 };
    }
    return null; // variables that do not fit the operation: execution reports them as usual
  }
  if (cost <= maxCost) return { errors: [], cost };
  const message = `operation cost ${cost} exceeds the limit of ${maxCost}; ask for fewer or smaller lists`;
  return { errors: [limitError(message, { limit: maxCost, cost })], cost };
}

/**
 * Names longer than `max`, checked in the same validation pass as Armor's rules: a response
 * repeats an alias (and __typename's key) once per list item, and shared subscription results
 * are keyed on the selection, so a 500 KB alias costs a megabyte per two items.
 */
function maxNameLengthRule(max: number) {
  return (context: ValidationContext): ASTVisitor => ({
    Name(node) {
      if (node.value.length > max)
        context.reportError(
          new GraphQLError(
            `the name starting "${node.value.slice(0, 20)}" is longer than the limit of ${max} characters`,
          ),
        );
    },
  });
}

/** Whether a variable sets a list size (`first`, `last`) or a directive (`@include`, `@skip`). */
function variablesShapeCost(document: DocumentNode): boolean {
  let shapes = false;
  const usesVariable = (node: ArgumentNode) => {
    let found = false;
    visit(node.value, { Variable: () => void (found = true) });
    return found;
  };
  visit(document, {
    Argument: (node, _key, _parent, _path, ancestors) => {
      const inDirective = ancestors.some((a) => "kind" in a && a.kind === Kind.DIRECTIVE);
      if ((inDirective || node.name.value === "first" || node.name.value === "last") && usesVariable(node))
        shapes = true;
    },
  });
  return shapes;
}

export type OperationLimits = ReturnType<typeof createOperationLimits>;
