/**
 * The SDL in schema/ is the contract with codegen-typed clients. `npm run schema:check` compares
 * it with the last released schema (the newest snapshot in schema/releases/) and fails on a
 * breaking change unless schema/intended-changes.json names it; additions pass. `npm run
 * schema:release -- <version>` cuts a snapshot of schema/ as released (and empties the list of
 * intended changes, which that release carries). `npm test` runs the check (test/unit/schemaCheck.test.ts).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CriticalityLevel, diff, type Change } from "@graphql-inspector/core";
import { buildSchema, lexicographicSortSchema, printSchema } from "graphql";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SCHEMA_DIR = path.join(ROOT, "schema");
export const RELEASES_DIR = path.join(SCHEMA_DIR, "releases");
export const INTENDED_FILE = path.join(SCHEMA_DIR, "intended-changes.json");

/** A breaking change made on purpose: its message as the check prints it, and why. */
export interface IntendedChange {
  change: string;
  why: string;
}

/** schema/*.graphql as one schema, printed in a stable order. */
export function currentSdl(dir = SCHEMA_DIR): string {
  const files = readdirSync(dir).filter((f) => f.endsWith(".graphql"));
  const sdl = files.map((f) => readFileSync(path.join(dir, f), "utf8")).join("\n");
  return printSchema(lexicographicSortSchema(buildSchema(sdl)));
}

const versionParts = (file: string) =>
  file
    .replace(/\.graphql$/, "")
    .split(".")
    .map(Number);
const byVersion = (a: string, b: string) => {
  const [x, y] = [versionParts(a), versionParts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};

/** The newest snapshot in schema/releases/ (`<version>.graphql`), or null before the first release. */
export function lastRelease(dir = RELEASES_DIR): { version: string; sdl: string } | null {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+(\.\d+)*\.graphql$/.test(f)) : [];
  const newest = files.sort(byVersion).at(-1);
  return newest
    ? { version: newest.replace(/\.graphql$/, ""), sdl: readFileSync(path.join(dir, newest), "utf8") }
    : null;
}

export interface CheckResult {
  /** Breaking changes nobody marked as intended: the check fails on these. */
  unintended: Change[];
  /** Breaking changes marked in intended-changes.json. */
  intended: Change[];
  /** Everything else (additions, deprecations, dangerous changes), for the report. */
  others: Change[];
  /** Entries of intended-changes.json that match no change (stale: remove them). */
  stale: IntendedChange[];
}

export async function checkSchema(released: string, current: string, intended: IntendedChange[]): Promise<CheckResult> {
  const changes = await diff(buildSchema(released), buildSchema(current));
  const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
  const isIntended = (c: Change) => intended.some((i) => i.change === c.message);
  return {
    unintended: breaking.filter((c) => !isIntended(c)),
    intended: breaking.filter(isIntended),
    others: changes.filter((c) => c.criticality.level !== CriticalityLevel.Breaking),
    stale: intended.filter((i) => !breaking.some((c) => c.message === i.change)),
  };
}

export function readIntended(file = INTENDED_FILE): IntendedChange[] {
  if (!existsSync(file)) return [];
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  const valid =
    Array.isArray(parsed) &&
    parsed.every((e) => typeof e?.change === "string" && typeof e?.why === "string" && e.why.trim() !== "");
  if (!valid) throw new Error(`${path.relative(ROOT, file)} must be a list of { "change": "...", "why": "..." }`);
  return parsed as IntendedChange[];
}

async function main(args: string[]) {
  if (args[0] === "release") {
    const version = args[1];
    if (!version || !/^\d+(\.\d+)*$/.test(version))
      throw new Error("usage: npm run schema:release -- <version, e.g. 1.2.0>");
    const file = path.join(RELEASES_DIR, `${version}.graphql`);
    if (existsSync(file)) throw new Error(`${path.relative(ROOT, file)} exists: releases are never rewritten`);
    writeFileSync(file, currentSdl());
    writeFileSync(INTENDED_FILE, "[]\n");
    console.log(`released schema ${version}: ${path.relative(ROOT, file)}; intended changes cleared`);
    return;
  }
  const release = lastRelease();
  if (!release)
    throw new Error("no released schema in schema/releases/: cut one with npm run schema:release -- <version>");
  const result = await checkSchema(release.sdl, currentSdl(), readIntended());
  const list = (changes: Change[]) => changes.map((c) => `  - ${c.message}`).join("\n");
  if (result.others.length > 0)
    console.log(
      `schema: ${result.others.length} compatible change(s) since ${release.version}:\n${list(result.others)}`,
    );
  if (result.intended.length > 0)
    console.log(`schema: breaking on purpose (intended-changes.json):\n${list(result.intended)}`);
  for (const stale of result.stale)
    console.log(`schema: intended-changes.json names a change that is not made: "${stale.change}"`);
  if (result.unintended.length > 0) {
    console.error(
      `schema: ${result.unintended.length} breaking change(s) against the released ${release.version}:\n${list(result.unintended)}\n` +
        `Clients built against ${release.version} would break. Undo the change, or, if it is meant, add ` +
        `{ "change": "<the line above>", "why": "..." } to schema/intended-changes.json.`,
    );
    process.exitCode = 1;
    return;
  }
  console.log(`schema: no unintended breaking change against the released ${release.version}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
