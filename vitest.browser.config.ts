import { defineConfig } from "vitest/config";
import { graphqlAlias } from "./vitest.shared.js";

/** `npm run test:browser`: the web client in Debian's Chromium, driven by playwright-core. */
export default defineConfig({
  resolve: graphqlAlias,
  test: {
    include: ["test/browser/**/*.browser.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
