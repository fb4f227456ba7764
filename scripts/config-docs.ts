/**
 * `npm run docs:config`: writes the settings table of docs/configuration.md from the schema in
 * src/config/env.ts (each variable's doc comment, its `@default`), so the two cannot drift;
 * test/unit/configDocs.test.ts fails when the file is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "@babel/parser";
import { format, resolveConfig } from "prettier";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const CONFIG_DOCS = path.join(ROOT, "docs/configuration.md");
const BEGIN = "<!-- settings: generated from src/config/env.ts by `npm run docs:config` -->";
const END = "<!-- end of generated settings -->";

interface Setting {
  name: string;
  default: string;
  meaning: string;
}

type Node = { type: string; start: number; end: number; [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every variable of `envSchema`, in the order the schema lists them. */
export function settings(source = readFileSync(path.join(ROOT, "src/config/env.ts"), "utf8")): Setting[] {
  const ast = parse(source, { sourceType: "module", plugins: ["typescript"] });
  const schema = (ast.program.body as Node[])
    .flatMap((statement) => (statement.type === "VariableDeclaration" ? (statement.declarations as Node[]) : []))
    .find((d) => d.id.name === "envSchema");
  if (!schema) throw new Error("no envSchema in src/config/env.ts");
  return (schema.init.arguments[0].properties as Node[]).map((property) => {
    const comment = ((property.leadingComments ?? []) as Node[]).map((c) => c.value as string).join("\n");
    const text = comment
      .replace(/^\s*\*+ ?/gm, "")
      .replace(/\s+/g, " ")
      .trim();
    const [meaning = "", stated] = text.split(/\s*@default\s+/);
    const expression = source.slice(property.value.start, property.value.end);
    const coded = /\.default\(([^()]*)\)\s*(\.transform\(|$)/.exec(expression)?.[1];
    const fallback = stated ?? coded?.replace(/^"|"$/g, "") ?? "unset";
    // A plain value is code; a sentence (`2 when ...`) stays prose.
    const value = /^[\w.:/-]+$/.test(fallback) && !["unset", "empty"].includes(fallback) ? `\`${fallback}\`` : fallback;
    return { name: property.key.name as string, default: value, meaning };
  });
}

/** The docs file with its generated table replaced, formatted as the repository formats Markdown. */
export async function renderedDocs(current = readFileSync(CONFIG_DOCS, "utf8")): Promise<string> {
  const [before, rest] = current.split(BEGIN);
  const after = rest?.split(END)[1];
  if (before === undefined || after === undefined) throw new Error(`docs/configuration.md lacks the ${BEGIN} markers`);
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  const rows = settings().map((s) => `| \`${s.name}\` | ${cell(s.default)} | ${cell(s.meaning)} |`);
  const table = ["| variable | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
  const text = `${before}${BEGIN}\n\n${table}\n\n${END}${after}`;
  return format(text, { ...(await resolveConfig(CONFIG_DOCS)), filepath: CONFIG_DOCS });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIG_DOCS, await renderedDocs());
  console.log(`wrote ${path.relative(ROOT, CONFIG_DOCS)} (${settings().length} settings)`);
}
