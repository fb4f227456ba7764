import { defineConfig } from "vitest/config";
import { graphqlAlias } from "./vitest.shared.js";

/** `npm run test:abuse`: an attacker's probes against real processes while a canary chats. */
export default defineConfig({
  resolve: graphqlAlias,
  test: {
    include: ["test/abuse/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    pool: "forks",
    fileParallelism: false,
    // One file, in order: the canary's figures cover every probe before it.
    sequence: { concurrent: false },
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
