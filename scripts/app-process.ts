import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Role } from "../src/app.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** Ports free at the same moment: all are held open until each is known, so none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Polls `predicate` until it holds; rejects with `what` after `timeoutMs`. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await predicate()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One real app process (`node src/main.ts <role>`), as an operator would run it. */
export class AppProcess {
  private readonly output: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(
    readonly role: Role,
    readonly child: ChildProcess,
    readonly origin: string,
  ) {
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200000) this.output.shift();
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    // Whatever ends the harness (a failed test, a timeout, Ctrl-C) ends the processes it started.
    const reap = () => child.kill("SIGKILL");
    process.once("exit", reap);
    void this.exited.then(() => process.removeListener("exit", reap));
  }

  /**
   * `nodeArgs`: extra flags for node, e.g. `--cpu-prof` to profile the process. `entry`: the
   * TypeScript sources through tsx (tests), or the build `npm run start:*` runs (benchmarks:
   * tsx adds a loader thread and keeps every function's name with a property of its own).
   */
  static async start(
    role: Role,
    env: Record<string, string>,
    nodeArgs: string[] = [],
    entry: "sources" | "build" = "sources",
  ): Promise<AppProcess> {
    const port = await freePort();
    const main =
      entry === "build" ? [path.join(root, "dist/src/main.js")] : ["--import", "tsx", path.join(root, "src/main.ts")];
    const child = spawn(process.execPath, [...nodeArgs, ...main, role], {
      cwd: root,
      env: { ...process.env, NODE_ENV: "test", LOG_LEVEL: "warn", HOST: "127.0.0.1", ...env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const app = new AppProcess(role, child, `http://127.0.0.1:${port}`);
    let exitCode: number | null | undefined;
    void app.exited.then((code) => (exitCode = code));
    try {
      await waitUntil(
        async () => {
          if (exitCode !== undefined) throw new Error("exited");
          return (await fetch(`${app.origin}/readyz`)).ok;
        },
        90_000,
        `${role} process to be ready`,
      );
    } catch (error) {
      child.kill("SIGKILL");
      throw new Error(`${role} did not start (${(error as Error).message}):\n${app.logs()}`);
    }
    return app;
  }

  get url(): string {
    return `${this.origin}/graphql`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resident memory, from /proc. */
  rssBytes(): number {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, "utf8"));
    return Number(match?.[1] ?? 0) * 1024;
  }

  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.origin}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.split(" ").pop()) : NaN;
  }

  logs(): string {
    return this.output.join("");
  }

  /** kill -9: no shutdown code runs. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM, as a supervisor stops it; SIGKILL if it takes longer than 20 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}
