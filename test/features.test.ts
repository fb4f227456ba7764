import { readdirSync } from "node:fs";
import { expect, it } from "vitest";
import { allCommands, features } from "../src/features/index.js";
import { COMMON_SCHEMA_FILE } from "../src/api/schema.js";
import { schemaDir } from "../src/shared/paths.js";

it("builds the schema from one module per feature: every SDL file in schema/ is a feature's, once", () => {
  const claimed = [COMMON_SCHEMA_FILE, ...features.map((f) => f.schemaFile)];
  const files = readdirSync(schemaDir).filter((f) => f.endsWith(".graphql"));
  expect(claimed.slice().sort()).toEqual(files.sort());
});

it("registers every command type once", () => {
  const types = allCommands.map((c) => c.type);
  expect(new Set(types).size).toBe(types.length);
  expect(types).toContain("SendMessage");
});
