/** docs/configuration.md's settings table is generated from src/config/env.ts: it must be current and say what each setting does. */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { CONFIG_DOCS, renderedDocs, settings } from "../../scripts/config-docs.js";

it("documents every setting with what it does (a doc comment in src/config/env.ts)", () => {
  const all = settings();
  expect(all.map((s) => s.name)).toContain("KAFKA_BROKERS");
  expect(all.filter((s) => s.meaning === "").map((s) => s.name)).toEqual([]);
});

it("has docs/configuration.md generated from the current schema (run npm run docs:config)", async () => {
  const current = readFileSync(CONFIG_DOCS, "utf8");
  expect(await renderedDocs(current)).toBe(current);
});
