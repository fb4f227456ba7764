/**
 * Apache Kafka (KRaft) managed by the project, for machines without Docker: a single broker,
 * or a replicated cluster of combined broker-and-controller nodes on loopback. The jars come
 * from Maven Central through kafka/pom.xml and are cached in .kafka/lib; a single broker's
 * data lives in .kafka/broker-<port>, a cluster's nodes in .kafka/cluster-<port>/node-<id>.
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

function nodePaths(dir: string) {
  return {
    dir,
    data: path.join(dir, "data"),
    config: path.join(dir, "server.properties"),
    log4j: path.join(dir, "log4j.properties"),
    pid: path.join(dir, "broker.pid"),
    /** Extra JVM flags, one per line, kept for restarts of the node. */
    jvmOptions: path.join(dir, "jvm.options"),
    log: path.join(dir, "broker.log"),
  };
}
type InstancePaths = ReturnType<typeof nodePaths>;

const singleDir = (port: number) => path.join(home, `broker-${port}`);
const clusterDir = (port: number) => path.join(home, `cluster-${port}`);

/** One KRaft node: a broker and a controller in one process. */
export interface KafkaNode {
  id: number;
  port: number;
  controllerPort: number;
  paths: InstancePaths;
}

/**
 * Where each node listens. A single broker: `port`, its controller on `controllerPort`. A
 * cluster of n: node i (from 1) takes `port + 2(i-1)` for clients and the next for its controller,
 * so `--brokers 3` on 9092 is 9092, 9094, 9096.
 */
export function clusterNodes(port: number, brokers: number, controllerPort = port + 1): KafkaNode[] {
  if (brokers === 1) return [{ id: 1, port, controllerPort, paths: nodePaths(singleDir(port)) }];
  return Array.from({ length: brokers }, (_, i) => ({
    id: i + 1,
    port: port + 2 * i,
    controllerPort: port + 2 * i + 1,
    paths: nodePaths(path.join(clusterDir(port), `node-${i + 1}`)),
  }));
}

/** The cluster whose folder exists for this port (a started, not yet stopped one), else one node. */
function existingNodes(port: number, controllerPort: number): KafkaNode[] {
  const dir = clusterDir(port);
  if (!existsSync(dir)) return clusterNodes(port, 1, controllerPort);
  return clusterNodes(port, readdirSync(dir).filter((name) => name.startsWith("node-")).length);
}

export interface LocalKafkaOptions {
  /** Client port. @default KAFKA_PORT or 9092 */
  port?: number;
  /** KRaft controller port. @default port + 1 */
  controllerPort?: number;
  /** Progress lines go here. */
  log?: (line: string) => void;
  /** Also listen for SASL_SSL clients (storage is formatted anew: its users are written then). */
  secure?: SecureListener;
  /**
   * Nodes: 1 for a single broker, 3 or more for a replicated cluster (replication factor 3,
   * min.insync.replicas 2, no unclean leader election), whose stop removes its data.
   * @default KAFKA_LOCAL_BROKERS or 1
   */
  brokers?: number;
  /** Extra JVM flags for the nodes (the fault suite's cluster trades peak speed for a cheap start). */
  jvmOptions?: string[];
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
  const brokers = options.brokers ?? Number(process.env.KAFKA_LOCAL_BROKERS ?? 1);
  if (brokers !== 1 && !(Number.isInteger(brokers) && brokers >= 3 && brokers <= 9))
    throw new LocalKafkaError(`--brokers must be 1 or 3 to 9 (a quorum needs 3), got ${brokers}`);
  if (brokers > 1 && options.secure) throw new LocalKafkaError("the SASL_SSL listener is for a single broker only");
  return {
    port,
    controllerPort: options.controllerPort ?? port + 1,
    log: options.log ?? ((line: string) => console.log(line)),
    secure: options.secure,
    brokers,
    jvmOptions: options.jvmOptions ?? [],
  };
}

/** The client addresses of nodes, as KAFKA_BROKERS takes them. */
export const brokerList = (nodes: KafkaNode[]): string => nodes.map((n) => `127.0.0.1:${n.port}`).join(",");

function readPid(paths: InstancePaths): number | null {
  if (!existsSync(paths.pid)) return null;
  const pid = Number(readFileSync(paths.pid, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function isAlive(pid: number): boolean {
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

/** Whether a node's process is alive and accepts clients. */
export async function nodeRunning(node: KafkaNode): Promise<number | null> {
  const pid = readPid(node.paths);
  return pid !== null && isAlive(pid) && (await isPortOpen(node.port)) ? pid : null;
}

/** Running when every node of the single broker or cluster on this port is; `pid` is the first node's. */
export async function status(options: LocalKafkaOptions = {}): Promise<BrokerStatus & { nodes: number }> {
  const { port, controllerPort } = resolveOptions(options);
  const nodes = existingNodes(port, controllerPort);
  const pids = await Promise.all(nodes.map(nodeRunning));
  const running = pids.every((pid) => pid !== null);
  return { running, pid: running ? pids[0]! : null, port, brokers: brokerList(nodes), nodes: nodes.length };
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

/** Settings that differ between a single broker and a replicated cluster. */
function replicationConfig(nodes: KafkaNode[]): string[] {
  const replicas = Math.min(nodes.length, 3);
  const minInSync = replicas > 1 ? 2 : 1;
  return [
    `default.replication.factor=${replicas}`,
    `min.insync.replicas=${minInSync}`,
    "unclean.leader.election.enable=false",
    `offsets.topic.replication.factor=${replicas}`,
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minInSync}`,
  ];
}

function writeConfig(node: KafkaNode, nodes: KafkaNode[], secure?: SecureListener) {
  const { paths, port, controllerPort } = node;
  mkdirSync(paths.dir, { recursive: true });
  const secureListener = secure ? `,SECURE://127.0.0.1:${secure.port}` : "";
  writeFileSync(
    paths.config,
    [
      `# Written by scripts/local-kafka.ts: KRaft node ${node.id} of ${nodes.length} on loopback.`,
      "process.roles=broker,controller",
      `node.id=${node.id}`,
      `controller.quorum.voters=${nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(",")}`,
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
      ...replicationConfig(nodes),
      "offsets.topic.num.partitions=10",
      "group.initial.rebalance.delay.ms=0",
      // The active controller appends a no-op record to the metadata log every 500 ms by
      // default (KIP-835: it lets brokers see the metadata log is current): on an idle single
      // node that was over a third of its CPU (16 -> 10 ms/s). A cluster keeps the default: its
      // brokers catch up on that log as they start, and one fault-suite run with 5 s found no
      // controller in a new cluster's metadata.
      ...(nodes.length === 1 ? ["metadata.max.idle.interval.ms=5000"] : []),
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
      // Which node leads the KRaft quorum (the active controller): "Completed transition to Leader".
      "log4j.logger.org.apache.kafka.raft.QuorumState=INFO",
      "",
    ].join("\n"),
  );
}

const classpath = () => `${lib}/*`;

function java(paths: InstancePaths, args: string[], options: { encoding?: "utf8" } = {}) {
  return execFileSync("java", [`-Dlog4j.configuration=file:${paths.log4j}`, "-cp", classpath(), ...args], {
    ...options,
    stdio: options.encoding ? undefined : "ignore",
  });
}

/** Formats each node's storage with one cluster id, unless already formatted. */
function formatStorage(nodes: KafkaNode[], secure?: SecureListener) {
  if (secure) rmSync(nodes[0]!.paths.data, { recursive: true, force: true });
  const unformatted = nodes.filter((n) => !existsSync(path.join(n.paths.data, "meta.properties")));
  if (unformatted.length === 0) return;
  if (unformatted.length !== nodes.length)
    throw new LocalKafkaError("some of the cluster's nodes are formatted and some not: run kafka:stop to clean it");
  const scramUsers = Object.entries(secure?.users ?? {}).flatMap(([name, password]) => [
    "--add-scram",
    `SCRAM-SHA-512=[name=${name},password=${password}]`,
  ]);
  const first = nodes[0]!.paths;
  const clusterId = String(java(first, ["kafka.tools.StorageTool", "random-uuid"], { encoding: "utf8" }))
    .trim()
    .split("\n")
    .pop()!;
  for (const { paths } of nodes)
    java(paths, ["kafka.tools.StorageTool", "format", "-t", clusterId, "-c", paths.config, ...scramUsers]);
}

function tail(file: string, lines = 30): string {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-lines).join("\n") : "(no log)";
}

/** Starts one node's process (its storage formatted); resolves with its pid. */
function spawnNode(node: KafkaNode): number {
  const out = openSync(node.paths.log, "w");
  const extra = existsSync(node.paths.jvmOptions)
    ? readFileSync(node.paths.jvmOptions, "utf8").split("\n").filter(Boolean)
    : [];
  const child = spawn(
    "java",
    [
      "-Xms256m",
      "-Xmx768m",
      ...extra,
      `-Dlog4j.configuration=file:${node.paths.log4j}`,
      "-cp",
      classpath(),
      "kafka.Kafka",
      node.paths.config,
    ],
    { detached: true, stdio: ["ignore", out, out] },
  );
  closeSync(out);
  child.unref();
  writeFileSync(node.paths.pid, String(child.pid));
  return child.pid!;
}

/** Resolves once the node accepts clients (a cluster's nodes get there together, once they have a quorum). */
async function waitForNode(node: KafkaNode, pid: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      rmSync(node.paths.pid, { force: true });
      throw new LocalKafkaError(
        `Kafka node ${node.id} exited during start-up. Last lines of ${node.paths.log}:\n${tail(node.paths.log)}`,
      );
    }
    if (readFileSync(node.paths.log, "utf8").includes("Kafka Server started") && (await isPortOpen(node.port))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  process.kill(pid, "SIGKILL");
  throw new LocalKafkaError(
    `Kafka node ${node.id} did not become ready within ${timeoutMs / 1000} s. Last lines of ${node.paths.log}:\n${tail(node.paths.log)}`,
  );
}

/** Starts a stopped node of a formatted cluster again (the fault scenarios restart killed nodes). */
export async function startNode(node: KafkaNode): Promise<void> {
  if ((await nodeRunning(node)) !== null) return;
  await waitForNode(node, spawnNode(node));
}

/**
 * Stops one node: SIGTERM is a controlled shutdown (its partitions' leadership moves first),
 * SIGKILL a crash. Resolves once the process is gone (SIGKILL after 30 s).
 */
export async function stopNode(node: KafkaNode, signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<boolean> {
  const pid = readPid(node.paths);
  rmSync(node.paths.pid, { force: true });
  if (pid === null || !isAlive(pid)) return false;
  await stopProcess(pid, signal);
  return true;
}

/** Sends `signal`, waits up to `graceMs` for the process to go, then kills it; resolves once it is gone. */
export async function stopProcess(pid: number, signal: NodeJS.Signals = "SIGTERM", graceMs = 30_000) {
  process.kill(pid, signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
}

/**
 * The node that leads the KRaft quorum (the active controller) now, from the nodes' logs:
 * the latest "Completed transition to Leader" by epoch. Null when none has been elected.
 */
export function activeController(nodes: KafkaNode[]): KafkaNode | null {
  let best: { node: KafkaNode; epoch: number } | null = null;
  for (const node of nodes) {
    if (!existsSync(node.paths.log)) continue;
    for (const match of readFileSync(node.paths.log, "utf8").matchAll(
      /Completed transition to Leader\(.*?, epoch=(\d+)/g,
    )) {
      const epoch = Number(match[1]);
      if (!best || epoch > best.epoch) best = { node, epoch };
    }
  }
  return best?.node ?? null;
}

/**
 * Starts the broker, or the cluster's nodes together, and resolves once all accept clients.
 * Starting a running one is a no-op; a port taken by another process is an error.
 */
export async function start(options: LocalKafkaOptions = {}): Promise<BrokerStatus & { started: boolean }> {
  const { port, controllerPort, log, secure, brokers, jvmOptions } = resolveOptions(options);
  const current = await status({ port, controllerPort });
  if (current.running) {
    log(`Kafka is already running (pid ${current.pid}) on ${current.brokers}`);
    return { ...current, started: false };
  }
  if (current.nodes !== brokers && current.nodes > 1)
    throw new LocalKafkaError(`a ${current.nodes}-node cluster on port ${port} is partly up: run kafka:stop first`);
  const nodes = clusterNodes(port, brokers, controllerPort);
  for (const node of nodes) {
    if ((await nodeRunning(node)) !== null) continue;
    for (const p of [node.port, node.controllerPort, ...(secure ? [secure.port] : [])]) {
      if (await isPortOpen(p)) {
        throw new LocalKafkaError(
          `port ${p} is already in use by another process. Stop it, or choose other ports with KAFKA_PORT=<port> ` +
            `(the controller uses the next one) and KAFKA_BROKERS=127.0.0.1:<port>.`,
        );
      }
    }
  }
  requireTool("java", ["-version"], "Java 17+ runs the Kafka broker");
  fetchBroker({ port, log });
  for (const node of nodes) {
    writeConfig(node, nodes, secure);
    writeFileSync(node.paths.jvmOptions, jvmOptions.join("\n"));
  }
  formatStorage(nodes, secure);

  const where = brokerList(nodes);
  log(
    nodes.length === 1
      ? `Starting Kafka ${KAFKA_VERSION} on ${where} (log: ${path.relative(root, nodes[0]!.paths.log)})...`
      : `Starting a ${nodes.length}-node Kafka ${KAFKA_VERSION} cluster on ${where} (logs: ${path.relative(root, clusterDir(port))})...`,
  );
  const pids = nodes.map(spawnNode);
  try {
    await Promise.all(nodes.map((node, i) => waitForNode(node, pids[i]!)));
  } catch (error) {
    await Promise.all(nodes.map((node) => stopNode(node, "SIGKILL")));
    throw error;
  }
  log(`Kafka is ready on ${where} (pid ${pids.join(", ")}); KAFKA_BROKERS=${where}`);
  return { running: true, pid: pids[0]!, port, brokers: where, started: true };
}

/** Removes a stopped broker's folder (its data, configuration and log). */
export function removeInstance(port: number): void {
  rmSync(singleDir(port), { recursive: true, force: true });
}

/**
 * Stops the managed broker or cluster on this port (SIGTERM, then SIGKILL after 30 s); a
 * no-op when none runs. A cluster's folder is removed with it: its next start is a new cluster.
 */
export async function stop(options: LocalKafkaOptions = {}): Promise<boolean> {
  const { port, controllerPort, log } = resolveOptions(options);
  const nodes = existingNodes(port, controllerPort);
  const running = nodes.filter((n) => {
    const pid = readPid(n.paths);
    return pid !== null && isAlive(pid);
  });
  if (running.length > 0) log(`Stopping Kafka on ${brokerList(running)}...`);
  await Promise.all(nodes.map((node) => stopNode(node)));
  if (nodes.length > 1) rmSync(clusterDir(port), { recursive: true, force: true });
  log(running.length > 0 ? "Kafka stopped" : "Kafka is not running");
  return running.length > 0;
}
