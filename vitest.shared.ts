import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * Node resolves `graphql` to its CommonJS build; make the test bundler do the same, so the
 * app under test and its dependencies share one copy (graphql checks classes by identity).
 */
export const graphqlAlias = { alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }] };
