/**
 * `npm run dev`: everything in one command. Starts the managed Kafka broker unless one
 * already answers on KAFKA_BROKERS, runs api + worker in one process with readable logs
 * (embedded PGlite unless DATABASE_URL is set), and on Ctrl-C / SIGTERM stops the app and
 * then the broker it started (KAFKA_KEEP_RUNNING=1 leaves the broker up for the next run).
 * `npm run dev -- --tracing` also starts a local Zipkin (scripts/local-zipkin.ts) and sends it
 * the app's traces.
 */
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pretty from "pino-pretty";
import { isPortOpen, LocalKafkaError, start, stop } from "./local-kafka.js";
import * as zipkin from "./local-zipkin.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const [host, port] = brokers[0]!.split(":");
const local = host === "127.0.0.1" || host === "localhost";

let startedBroker = false;
try {
  if (local && !(await isPortOpen(Number(port)))) {
    startedBroker = (await start({ port: Number(port) })).started;
  } else {
    console.log(`Using the Kafka broker at ${brokers.join(",")}`);
  }
} catch (error) {
  if (!(error instanceof LocalKafkaError)) throw error;
  console.error(`error: ${error.message}`);
  process.exit(1);
}

const tracing = process.argv.includes("--tracing");
let startedZipkin = false;
const tracingEnv: Record<string, string> = {};
if (tracing) {
  try {
    const viewer = await zipkin.start();
    startedZipkin = viewer.started;
    tracingEnv.OTEL_EXPORTER_ZIPKIN_ENDPOINT = viewer.spans;
    console.log(`Tracing on: each operation's trace is at ${viewer.ui}`);
  } catch (error) {
    if (!(error instanceof zipkin.LocalZipkinError)) throw error;
    console.error(`warning: no tracing: ${error.message}`);
  }
}

// The reference web client, served at http://localhost:PORT/ (about 2 s; `npm run dev:web` for hot reload).
console.log("Building the web client (web/ -> web/dist)...");
const built = spawnSync("npm", ["run", "--silent", "build:web"], { cwd: root, stdio: "inherit" });
if (built.status !== 0) console.error("warning: the web client did not build; the API runs without it");

const app = spawn(process.execPath, ["--import", "tsx", path.join(root, "src/main.ts"), "all"], {
  cwd: root,
  stdio: ["inherit", "pipe", "inherit"],
  env: { ...process.env, ...tracingEnv, NODE_ENV: process.env.NODE_ENV ?? "development" },
});
// Pretty-printed here rather than in a child process: Ctrl-C reaches every process of the
// group, and a separate printer would die before the app's shutdown lines arrive.
app.stdout.pipe(pretty({ colorize: true, ignore: "pid,hostname", destination: 1 }));

// Ctrl-C reaches the whole process group; SIGTERM sent to this process alone is forwarded.
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stopping = true;
    if (app.exitCode === null) app.kill(signal);
  });
}

app.on("exit", async (code) => {
  if (startedZipkin) await zipkin.stop();
  if (startedBroker && process.env.KAFKA_KEEP_RUNNING !== "1") await stop();
  else if (startedBroker) console.log("Kafka left running (KAFKA_KEEP_RUNNING=1); stop it with npm run kafka:stop");
  process.exit(stopping ? 0 : (code ?? 1));
});
