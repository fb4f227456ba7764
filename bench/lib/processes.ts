import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitUntil } from "../../scripts/app-process.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * A baseline server in its own process, ready once GET /ready answers. It runs compiled, as
 * our app does in the benchmark (see buildForBenchmark).
 */
export async function startBaseline(
  script: string,
  env: Record<string, string> = {},
): Promise<{ origin: string; child: ChildProcess; rssBytes(): number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--expose-gc", path.join(root, "dist/bench/baselines", script.replace(/\.ts$/, ".js"))],
    {
      cwd: root,
      env: { ...process.env, ...env, PORT: String(port) },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitUntil(async () => (await fetch(`${origin}/ready`)).ok, 30_000, `${script} to start`);
  return {
    origin,
    child,
    rssBytes: () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) * 1024,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/** Compiles the app and the baselines to dist/, so both run as `npm run start:*` runs the app. */
export function buildForBenchmark(): void {
  execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.bench.json"], {
    cwd: root,
    stdio: "inherit",
  });
}
