import { GraphQLError, parse, validate, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from "graphql";
import type { SubscribePayload } from "graphql-ws";
import type { OperationLimits } from "./operationLimits.js";

/** Longer operations are parsed each time: the cache must not become a way to pin memory. */
const MAX_CACHED_QUERY_LENGTH = 10_000;

/** Operation text kept in the cache at most (a parsed document is about ten times its text). */
const MAX_CACHED_TEXT = 512 * 1024;

/** graphql-js's "Did you mean ...?" names schema fields an introspection-less client should not learn. */
const withoutSuggestions = (message: string) => message.replace(/ Did you mean .*\?$/, "");

/**
 * Turns a graphql-ws subscribe message into execution arguments, or the errors to answer it
 * with: parsed (with the token limit) and validated once per distinct operation text, then
 * checked against the operation limits with its variables. Thousands of clients of one app
 * send the same few subscriptions; sharing the parsed document (graphql-js never mutates
 * one) saves each subscription its own AST, and each subscribe the work of validation.
 * Apollo Server does the same for HTTP with its document store.
 */
export function createOperationPreparer(
  schema: GraphQLSchema,
  limits: OperationLimits,
  options: { production: boolean; maxEntries?: number },
) {
  const maxEntries = options.maxEntries ?? 1000;
  const documents = new Map<string, { source: string; document: DocumentNode; errors: readonly GraphQLError[] }>();
  let cachedText = 0;
  const message = options.production ? withoutSuggestions : (m: string) => m;

  function parsed(source: string) {
    let entry = documents.get(source);
    if (entry) return entry;
    const document = parse(source, limits.parseOptions);
    const errors = validate(schema, document).map(
      (e) =>
        new GraphQLError(message(e.message), { nodes: e.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }),
    );
    entry = { source, document, errors };
    if (source.length <= MAX_CACHED_QUERY_LENGTH) {
      documents.set(source, entry);
      cachedText += source.length;
      while (documents.size > maxEntries || cachedText > MAX_CACHED_TEXT) {
        const oldest = documents.keys().next().value!;
        documents.delete(oldest);
        cachedText -= oldest.length;
      }
    }
    return entry;
  }

  return (payload: SubscribePayload): { args: ExecutionArgs; cost: number } | GraphQLError[] => {
    let entry: ReturnType<typeof parsed>;
    try {
      entry = parsed(payload.query);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      return [new GraphQLError(error.message, { extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
    }
    if (entry.errors.length > 0) return [...entry.errors];
    // graphql-ws keeps the subscribe message for the subscription's life: its copy of the
    // operation text gives way to the cache's, which all subscribers of the operation share.
    (payload as { query: string }).query = entry.source;
    const { errors, cost } = limits.check(entry.document, payload.operationName, payload.variables);
    if (errors.length > 0) return errors;
    const args = {
      schema,
      document: entry.document,
      operationName: payload.operationName,
      variableValues: payload.variables,
    };
    return { args, cost };
  };
}
