import { defineConfig } from "vitest/config";
import { graphqlAlias } from "./vitest.shared.js";

/** `npm run test:faults`: kills and restarts real processes, one scenario at a time. */
export default defineConfig({
  resolve: graphqlAlias,
  test: {
    include: ["test/faults/**/*.test.ts"],
    globalSetup: ["test/faults/support/globalSetup.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});
