import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The folder holding package.json, whether running from src/ (tsx) or dist/src/ (built). */
function findProjectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("could not find the project root (package.json)");
    dir = parent;
  }
  return dir;
}

export const projectRoot = findProjectRoot();
export const migrationsDir = path.join(projectRoot, "drizzle");
export const schemaDir = path.join(projectRoot, "schema");
/** The built web client (`npm run build:web`), served at / by API processes when present. */
export const webDistDir = path.join(projectRoot, "web", "dist");
/** The web client's operations by hash, written by `npm run codegen` (the default trusted documents). */
export const trustedDocumentsFile = path.join(projectRoot, "web", "src", "gql", "persisted-documents.json");
