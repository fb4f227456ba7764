/**
 * A single-node Apache Kafka broker (KRaft) managed by the project, for machines without
 * Docker. The broker's jars come from Maven Central through kafka/pom.xml and are cached
 * in .kafka/lib; its data lives in .kafka/data.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const KAFKA_VERSION = "3.9.1";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const home = path.join(root, ".kafka");
const pom = path.join(root, "kafka", "pom.xml");
/** Jars are shared; each broker (one per client port) has its own folder. */
const lib = path.join(home, "lib");

function instancePaths(port: number) {
  const dir = path.join(home, `broker-${port}`);
  return {
    dir,
    data: path.join(dir, "data"),
    config: path.join(dir, "server.properties"),
    log4j: path.join(dir, "log4j.properties"),
    pid: path.join(dir, "broker.pid"),
    log: path.join(dir, "broker.log"),
  };
}
type InstancePaths = ReturnType<typeof instancePaths>;

export interface LocalKafkaOptions {
  /** Client port. @default KAFKA_PORT or 9092 */
  port?: number;
  /** KRaft controller port. @default port + 1 */
  controllerPort?: number;
  /** Progress lines go here. */
  log?: (line: string) => void;
  /** Also listen for SASL_SSL clients (storage is formatted anew: its users are written then). */
  secure?: SecureListener;
}

/**
 * A SASL_SSL listener on 127.0.0.1 with SCRAM-SHA-512 users and ACLs enforced by KRaft's
 * StandardAuthorizer, as a production cluster would have it. The plaintext listener stays
 * for the controller and the broker itself (its principal, ANONYMOUS, is a super user), so
 * this is a broker for testing authentication and ACLs, not one to expose.
 */
export interface SecureListener {
  port: number;
  /** SCRAM users: name -> password. */
  users: Record<string, string>;
  /** Users allowed everything (to set ACLs and create topics). */
  superUsers: string[];
  /** PEM file holding the listener's private key (PKCS#8, unencrypted) and certificate. */
  keystorePem: string;
}

export class LocalKafkaError extends Error {
  override name = "LocalKafkaError";
}

function resolveOptions(options: LocalKafkaOptions) {
  const port = options.port ?? Number(process.env.KAFKA_PORT ?? 9092);
  if (!Number.isInteger(port) || port <= 0 || port > 65534)
    throw new LocalKafkaError(`KAFKA_PORT must be a port number, got ${process.env.KAFKA_PORT}`);
  return {
    port,
    controllerPort: options.controllerPort ?? port + 1,
    log: options.log ?? ((line: string) => console.log(line)),
    secure: options.secure,
  };
}

function readPid(paths: InstancePaths): number | null {
  if (!existsSync(paths.pid)) return null;
  const pid = Number(readFileSync(paths.pid, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isPortOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export interface BrokerStatus {
  running: boolean;
  pid: number | null;
  port: number;
  brokers: string;
}

export async function status(options: LocalKafkaOptions = {}): Promise<BrokerStatus> {
  const { port } = resolveOptions(options);
  const pid = readPid(instancePaths(port));
  const running = pid !== null && isAlive(pid) && (await isPortOpen(port));
  return { running, pid: running ? pid : null, port, brokers: `127.0.0.1:${port}` };
}

function requireTool(command: string, args: string[], what: string) {
  const result = spawnSync(command, args, { stdio: "ignore" });
  if (result.error || result.status !== 0) {
    throw new LocalKafkaError(
      `${command} was not found: ${what}. Install it (Debian: apt-get install ${command === "mvn" ? "maven" : "openjdk-17-jre-headless"}), ` +
        "or run Kafka with Docker: docker compose up kafka",
    );
  }
}

/** Downloads the pinned broker jars once; later calls reuse .kafka/lib. */
export function fetchBroker(options: LocalKafkaOptions = {}): void {
  const { log } = resolveOptions(options);
  const jar = `kafka_2.13-${KAFKA_VERSION}.jar`;
  if (existsSync(lib) && readdirSync(lib).includes(jar)) return;
  requireTool("mvn", ["-v"], "Maven fetches the Kafka broker from Maven Central");
  log(`Fetching Apache Kafka ${KAFKA_VERSION} from Maven Central into .kafka/lib (first run only)...`);
  rmSync(lib, { recursive: true, force: true });
  const result = spawnSync(
    "mvn",
    [
      "-B",
      "-q",
      "-f",
      pom,
      "dependency:copy-dependencies",
      `-DoutputDirectory=${lib}`,
      `-Dkafka.version=${KAFKA_VERSION}`,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  if (result.status !== 0)
    throw new LocalKafkaError(`mvn could not fetch Kafka (exit ${result.status}); see its output above`);
}

function secureListenerConfig(secure: SecureListener): string[] {
  return [
    "listener.name.secure.sasl.enabled.mechanisms=SCRAM-SHA-512",
    "listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
    "listener.name.secure.ssl.keystore.type=PEM",
    `listener.name.secure.ssl.keystore.location=${secure.keystorePem}`,
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    `super.users=${["ANONYMOUS", ...secure.superUsers].map((u) => `User:${u}`).join(";")}`,
  ];
}

function writeConfig(paths: InstancePaths, port: number, controllerPort: number, secure?: SecureListener) {
  mkdirSync(paths.dir, { recursive: true });
  const secureListener = secure ? `,SECURE://127.0.0.1:${secure.port}` : "";
  writeFileSync(
    paths.config,
    [
      "# Written by scripts/local-kafka.ts: a single-node KRaft broker on loopback.",
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${secureListener}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}${secureListener}`,
      "controller.listener.names=CONTROLLER",
      `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${secure ? ",SECURE:SASL_SSL" : ""}`,
      ...(secure ? secureListenerConfig(secure) : []),
      "inter.broker.listener.name=PLAINTEXT",
      `log.dirs=${paths.data}`,
      "num.partitions=6",
      "auto.create.topics.enable=false",
      "delete.topic.enable=true",
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=10",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "",
    ].join("\n"),
  );
  writeFileSync(
    paths.log4j,
    [
      "log4j.rootLogger=WARN, stdout",
      "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
      "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
      "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
      "log4j.logger.kafka.server.KafkaRaftServer=INFO",
      "",
    ].join("\n"),
  );
}

const classpath = () => `${lib}/*`;

function formatStorage(paths: InstancePaths, secure?: SecureListener) {
  if (secure) rmSync(paths.data, { recursive: true, force: true });
  if (existsSync(path.join(paths.data, "meta.properties"))) return;
  const scramUsers = Object.entries(secure?.users ?? {}).flatMap(([name, password]) => [
    "--add-scram",
    `SCRAM-SHA-512=[name=${name},password=${password}]`,
  ]);
  const clusterId = execFileSync(
    "java",
    [`-Dlog4j.configuration=file:${paths.log4j}`, "-cp", classpath(), "kafka.tools.StorageTool", "random-uuid"],
    { encoding: "utf8" },
  )
    .trim()
    .split("\n")
    .pop()!;
  execFileSync(
    "java",
    [
      `-Dlog4j.configuration=file:${paths.log4j}`,
      "-cp",
      classpath(),
      "kafka.tools.StorageTool",
      "format",
      "-t",
      clusterId,
      "-c",
      paths.config,
      ...scramUsers,
    ],
    {
      stdio: "ignore",
    },
  );
}

function tail(file: string, lines = 30): string {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-lines).join("\n") : "(no log)";
}

/**
 * Starts the broker and resolves once it accepts clients. Starting a running broker is a
 * no-op; a port taken by another process is an error.
 */
export async function start(options: LocalKafkaOptions = {}): Promise<BrokerStatus & { started: boolean }> {
  const { port, controllerPort, log, secure } = resolveOptions(options);
  const current = await status({ port });
  if (current.running) {
    log(`Kafka is already running (pid ${current.pid}) on ${current.brokers}`);
    return { ...current, started: false };
  }
  for (const p of [port, controllerPort, ...(secure ? [secure.port] : [])]) {
    if (await isPortOpen(p)) {
      throw new LocalKafkaError(
        `port ${p} is already in use by another process. Stop it, or choose other ports with KAFKA_PORT=<port> ` +
          `(the controller uses the next one) and KAFKA_BROKERS=127.0.0.1:<port>.`,
      );
    }
  }
  requireTool("java", ["-version"], "Java 17+ runs the Kafka broker");
  fetchBroker({ port, log });
  const paths = instancePaths(port);
  writeConfig(paths, port, controllerPort, secure);
  formatStorage(paths, secure);

  log(`Starting Kafka ${KAFKA_VERSION} on 127.0.0.1:${port} (log: ${path.relative(root, paths.log)})...`);
  const out = openSync(paths.log, "w");
  const child = spawn(
    "java",
    [
      "-Xms256m",
      "-Xmx768m",
      `-Dlog4j.configuration=file:${paths.log4j}`,
      "-cp",
      classpath(),
      "kafka.Kafka",
      paths.config,
    ],
    { detached: true, stdio: ["ignore", out, out] },
  );
  closeSync(out);
  child.unref();
  writeFileSync(paths.pid, String(child.pid));

  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (!isAlive(child.pid!)) {
      rmSync(paths.pid, { force: true });
      throw new LocalKafkaError(`Kafka exited during start-up. Last lines of ${paths.log}:\n${tail(paths.log)}`);
    }
    if (readFileSync(paths.log, "utf8").includes("Kafka Server started") && (await isPortOpen(port))) {
      log(`Kafka is ready on 127.0.0.1:${port} (pid ${child.pid})`);
      return { running: true, pid: child.pid!, port, brokers: `127.0.0.1:${port}`, started: true };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  process.kill(child.pid!, "SIGKILL");
  throw new LocalKafkaError(`Kafka did not become ready within 90 s. Last lines of ${paths.log}:\n${tail(paths.log)}`);
}

/** Removes a stopped broker's folder (its data, configuration and log). */
export function removeInstance(port: number): void {
  rmSync(instancePaths(port).dir, { recursive: true, force: true });
}

/** Stops the managed broker (SIGTERM, then SIGKILL after 30 s); a no-op when none runs. */
export async function stop(options: LocalKafkaOptions = {}): Promise<boolean> {
  const { port, log } = resolveOptions(options);
  const paths = instancePaths(port);
  const pid = readPid(paths);
  if (pid === null || !isAlive(pid)) {
    rmSync(paths.pid, { force: true });
    log("Kafka is not running");
    return false;
  }
  log(`Stopping Kafka (pid ${pid})...`);
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 30_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  rmSync(paths.pid, { force: true });
  log("Kafka stopped");
  return true;
}
