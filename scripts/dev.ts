/**
 * `npm run dev`: everything in one command. Starts the managed Kafka broker unless one
 * already answers on KAFKA_BROKERS, runs api + worker in one process with readable logs
 * (embedded PGlite unless DATABASE_URL is set), and on Ctrl-C / SIGTERM stops the app and
 * then the broker it started (KAFKA_KEEP_RUNNING=1 leaves the broker up for the next run).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isPortOpen, LocalKafkaError, start, stop } from "./local-kafka.js";

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

const app = spawn(process.execPath, ["--import", "tsx", path.join(root, "src/main.ts"), "all"], {
  cwd: root,
  stdio: ["inherit", "pipe", "inherit"],
  env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? "development" },
});
const pretty = spawn(
  process.execPath,
  [path.join(root, "node_modules/pino-pretty/bin.js"), "--colorize", "--ignore", "pid,hostname"],
  {
    stdio: ["pipe", "inherit", "inherit"],
  },
);
app.stdout.pipe(pretty.stdin);

// Ctrl-C reaches the whole process group; SIGTERM sent to this process alone is forwarded.
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stopping = true;
    if (app.exitCode === null) app.kill(signal);
  });
}

app.on("exit", async (code) => {
  await new Promise<void>((resolve) => pretty.stdin.end(resolve));
  if (startedBroker && process.env.KAFKA_KEEP_RUNNING !== "1") await stop();
  else if (startedBroker) console.log("Kafka left running (KAFKA_KEEP_RUNNING=1); stop it with npm run kafka:stop");
  process.exit(stopping ? 0 : (code ?? 1));
});
