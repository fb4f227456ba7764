/**
 * The shape the codebase keeps (docs/architecture.md#code-map): every function in src/ fits a
 * screen, and the folders of src/ import each other in one direction only, so a change to a
 * layer never has to travel back up through the layers that use it.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parse } from "@babel/parser";
import { expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../../src");
const MAX_FUNCTION_LINES = 60;

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "generated" ? [] : sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

type Node = { type: string; loc?: { start: { line: number }; end: { line: number } }; [key: string]: unknown };
const FUNCTIONS = new Set([
  "FunctionDeclaration",
  "FunctionExpression",
  "ArrowFunctionExpression",
  "ClassMethod",
  "ClassPrivateMethod",
  "ObjectMethod",
]);

function* functionsOf(node: Node): Generator<Node> {
  if (FUNCTIONS.has(node.type)) yield node;
  for (const [key, value] of Object.entries(node)) {
    if (key === "loc") continue;
    for (const child of Array.isArray(value) ? value : [value])
      if (child && typeof child === "object" && typeof (child as Node).type === "string")
        yield* functionsOf(child as Node);
  }
}

it(`keeps every function in src/ within ${MAX_FUNCTION_LINES} lines`, () => {
  const long: string[] = [];
  for (const file of sourceFiles()) {
    const ast = parse(readFileSync(file, "utf8"), { sourceType: "module", plugins: ["typescript"] });
    for (const fn of functionsOf(ast.program as unknown as Node)) {
      const lines = fn.loc!.end.line - fn.loc!.start.line + 1;
      if (lines > MAX_FUNCTION_LINES) long.push(`${path.relative(SRC, file)}:${fn.loc!.start.line} (${lines} lines)`);
    }
  }
  expect(long).toEqual([]);
});

/**
 * A file's unit: the folder under src/; under features/, each feature's folder (and the
 * list and module files beside them); the files at the root stand alone.
 */
function unitOf(file: string): string {
  const [first, second] = path.relative(SRC, file).split(path.sep);
  if (!second) return first!;
  return first === "features" ? `features/${second}` : first!;
}

/** Imports that exist at run time: `import type` and all-`type` specifier lists are erased. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+"(\.[^"]+)"/gms)) {
    const [, typeOnly, clause, target] = match;
    const names = /^\{([^}]*)\}$/.exec(clause!.trim())?.[1];
    const allTypes = names !== undefined && names.split(",").every((n) => !n.trim() || n.trim().startsWith("type "));
    if (!typeOnly && !allTypes) found.push(path.resolve(path.dirname(file), target!.replace(/\.js$/, ".ts")));
  }
  for (const [, target] of text.matchAll(/^import\s+"(\.[^"]+)"/gm))
    found.push(path.resolve(path.dirname(file), target!.replace(/\.js$/, ".ts")));
  return found;
}

it("has no import cycle between the folders of src/ (and between features)", () => {
  const edges = new Map<string, Set<string>>();
  for (const file of sourceFiles())
    for (const target of runtimeImports(file)) {
      const [from, to] = [unitOf(file), unitOf(target)];
      if (from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  const cycles: string[] = [];
  const visit = (unit: string, trail: string[]) => {
    if (trail.includes(unit)) return void cycles.push([...trail.slice(trail.indexOf(unit)), unit].join(" -> "));
    for (const next of edges.get(unit) ?? []) visit(next, [...trail, unit]);
  };
  for (const unit of edges.keys()) visit(unit, []);
  expect(edges.get("features/users")).toBeDefined(); // the scan saw the imports at all
  expect(cycles).toEqual([]);
});

it("loads no resolver at start: a feature's API part is imported only by API processes", () => {
  const loaded = new Set<string>();
  const load = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const target of runtimeImports(file)) load(target);
  };
  load(path.join(SRC, "app.ts")); // what main.ts imports once the configuration is valid
  expect(loaded.has(path.join(SRC, "worker/applyCommands.ts"))).toBe(true); // the walk reached the features' handlers
  expect([...loaded].filter((file) => /\.resolvers\.ts$|\/features\/[^/]+\/api\.ts$/.test(file))).toEqual([]);
});

it("keeps the worker's core free of Kafka", () => {
  const core = readFileSync(path.join(SRC, "worker/applyCommands.ts"), "utf8");
  expect(core).not.toMatch(/from "kafkajs"|\.\.\/kafka\//);
});
