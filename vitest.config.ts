import { configDefaults, defineConfig } from "vitest/config";
import { graphqlAlias } from "./vitest.shared.js";

export default defineConfig({
  resolve: graphqlAlias,
  test: {
    include: ["test/**/*.test.ts"],
    exclude: [...configDefaults.exclude, "test/unit/**", "test/faults/**", "test/abuse/**", "test/browser/**"],
    globalSetup: ["test/support/globalSetup.ts"],
    // Real broker and database round trips: generous, but a hang still fails.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
