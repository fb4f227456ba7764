/**
 * The README's "Adding a feature" recipe, kept true: the pins feature it walks through touched
 * exactly the files it lists, and nothing else in src/ or schema/ knows about pins.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { features } from "../../src/features/index.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(relative) : [relative];
  });
}

/** The paths the recipe names, with `pins.resolvers.ts`-style names completed by their folder. */
function recipeFiles(): Set<string> {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const recipe = readme.slice(
    readme.indexOf("## Adding a feature"),
    readme.indexOf("\n## ", readme.indexOf("## Adding a feature") + 1),
  );
  const named = [...recipe.matchAll(/`([\w./-]+\.(?:ts|graphql|sql))`/g)].map((m) => m[1]!);
  return new Set(named.map((name) => (name.includes("/") ? name : `src/features/pins/${name}`)));
}

it("lists every file the pins feature touched, each of which exists", () => {
  const listed = recipeFiles();
  const present = new Set([
    ...filesUnder("src"),
    ...filesUnder("schema"),
    ...filesUnder("drizzle"),
    ...filesUnder("test"),
  ]);
  expect([...listed].filter((file) => !present.has(file))).toEqual([]);
  const pinsFolder = filesUnder("src/features/pins");
  expect(pinsFolder.filter((file) => !listed.has(file))).toEqual([]);
});

it("leaves no trace of pins outside the files the recipe lists", () => {
  const listed = recipeFiles();
  // Released schemas (schema/releases/) are snapshots of the whole contract, every feature's.
  const sources = [...filesUnder("src"), ...filesUnder("schema").filter((f) => !f.startsWith("schema/releases/"))];
  const mentions = sources.filter((file) =>
    /\b(pins|pinned|pinMessage|unpinMessage|pinnedMessages|pinned_messages|pinsFeature)\b/i.test(
      readFileSync(path.join(ROOT, file), "utf8"),
    ),
  );
  expect(mentions.filter((file) => !listed.has(file))).toEqual([]);
  expect(mentions).toContain("src/features/index.ts"); // the scan does see the one line in the list
});

it("registers the feature after the features it requires", () => {
  const names = features.map((f) => f.name);
  const pins = features.find((f) => f.name === "pins")!;
  for (const required of pins.requires ?? []) expect(names.indexOf(required)).toBeLessThan(names.indexOf("pins"));
});
