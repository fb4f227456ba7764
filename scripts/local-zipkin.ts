/**
 * A local Zipkin server for traces (`npm run zipkin:start`), fetched once from Maven Central
 * like the Kafka broker and run on loopback with its in-memory store: traces last until it stops.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isAlive, isPortOpen, stopProcess } from "./local-kafka.js";

export const ZIPKIN_VERSION = "3.5.1";
export const ZIPKIN_PORT = 9411;

const home = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), ".."), ".zipkin");
const jar = path.join(home, `zipkin-server-${ZIPKIN_VERSION}-exec.jar`);
const pidFile = path.join(home, "zipkin.pid");
const logFile = path.join(home, "zipkin.log");

export class LocalZipkinError extends Error {}

export interface ZipkinOptions {
  port?: number;
  log?: (line: string) => void;
}

const urls = (port: number) => ({
  ui: `http://127.0.0.1:${port}/zipkin/`,
  spans: `http://127.0.0.1:${port}/api/v2/spans`,
  api: `http://127.0.0.1:${port}/api/v2`,
});

function runningPid(): number | null {
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : NaN;
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
}

function fetchServer(log: (line: string) => void) {
  if (existsSync(jar)) return;
  if (spawnSync("mvn", ["-v"], { stdio: "ignore" }).status !== 0)
    throw new LocalZipkinError("mvn was not found: Maven fetches the Zipkin server (Debian: apt-get install maven)");
  log(`Fetching Zipkin server ${ZIPKIN_VERSION} from Maven Central into .zipkin (first run only, 130 MB)...`);
  mkdirSync(home, { recursive: true });
  const result = spawnSync(
    "mvn",
    [
      "-B",
      "-q",
      "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
      `-Dartifact=io.zipkin:zipkin-server:${ZIPKIN_VERSION}:jar:exec`,
      `-DoutputDirectory=${home}`,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  if (result.status !== 0) throw new LocalZipkinError(`mvn could not fetch Zipkin (exit ${result.status})`);
}

/** Starts Zipkin unless it answers already; resolves with its addresses. */
export async function start({ port = ZIPKIN_PORT, log = console.log }: ZipkinOptions = {}) {
  if (await isPortOpen(port)) {
    log(`Zipkin (or something else) already answers on 127.0.0.1:${port}; UI at ${urls(port).ui}`);
    return { ...urls(port), started: false };
  }
  fetchServer(log);
  const out = openSync(logFile, "w");
  const child = spawn(
    "java",
    [
      "-Xms64m",
      "-Xmx512m",
      "-jar",
      jar,
      `--armeria.ports[0].port=${port}`,
      "--armeria.ports[0].ip=127.0.0.1",
      "--armeria.ports[0].protocols=http",
    ],
    { detached: true, stdio: ["ignore", out, out] },
  );
  closeSync(out);
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  log(`Starting Zipkin ${ZIPKIN_VERSION} on 127.0.0.1:${port} (log: .zipkin/zipkin.log)...`);
  const deadline = Date.now() + 90_000;
  while (!(await healthy(port))) {
    if (!isAlive(child.pid!) || Date.now() > deadline)
      throw new LocalZipkinError(`Zipkin did not start; its log ends:\n${readFileSync(logFile, "utf8").slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  log(`Zipkin is ready: UI at ${urls(port).ui}; send traces with OTEL_EXPORTER_ZIPKIN_ENDPOINT=${urls(port).spans}`);
  return { ...urls(port), started: true };
}

async function healthy(port: number) {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
  } catch {
    return false;
  }
}

/** Stops the Zipkin this project started; false when none was running. */
export async function stop({ log = console.log }: ZipkinOptions = {}): Promise<boolean> {
  const pid = runningPid();
  rmSync(pidFile, { force: true });
  if (pid === null) {
    log("Zipkin is not running");
    return false;
  }
  await stopProcess(pid, "SIGTERM", 20_000);
  log("Zipkin stopped");
  return true;
}
