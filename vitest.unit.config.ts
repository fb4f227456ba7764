import { configDefaults, defineConfig } from "vitest/config";
import { graphqlAlias } from "./vitest.shared.js";

/** `npm run test:unit`: the worker's core and the rules over in-process PGlite; no broker, no app. */
export default defineConfig({
  resolve: graphqlAlias,
  test: {
    include: ["test/unit/**/*.test.ts"],
    exclude: [...configDefaults.exclude],
    testTimeout: 10_000,
    hookTimeout: 30_000,
  },
});
