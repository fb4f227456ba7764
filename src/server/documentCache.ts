import { parse, validate, type DocumentNode, type GraphQLError, type GraphQLSchema, type Source } from "graphql";

/** Longer operations are parsed each time: the cache must not become a way to pin memory. */
const MAX_CACHED_QUERY_LENGTH = 10_000;

/**
 * Parse and validate for graphql-ws, once per distinct operation text. Thousands of clients
 * of one app send the same few subscriptions; sharing the parsed document (graphql-js never
 * mutates one) saves each subscription its own AST, and each subscribe the work of validation.
 * Apollo Server does the same for HTTP with its document store.
 */
export function createDocumentCache(maxEntries = 1000) {
  const documents = new Map<string, DocumentNode>();
  const validations = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  return {
    parse(source: string | Source): DocumentNode {
      if (typeof source !== "string") return parse(source);
      let document = documents.get(source);
      if (document) return document;
      document = parse(source);
      if (source.length <= MAX_CACHED_QUERY_LENGTH) {
        documents.set(source, document);
        if (documents.size > maxEntries) documents.delete(documents.keys().next().value!);
      }
      return document;
    },
    validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] {
      let errors = validations.get(document);
      if (!errors) validations.set(document, (errors = validate(schema, document)));
      return errors;
    },
  };
}
