/**
 * 6b. Where one API process tops out: as many idle subscribed clients as it can hold, up to
 * 50,000 (its file-descriptor limit decides on a machine that sets one lower), opened by fleets
 * of clients in processes of their own (bench/lib/fleet.ts) from several loopback addresses.
 * The first 5,000 are measured alone, then the rest: memory per client at both sizes, open
 * file descriptors, idle CPU with everyone connected, and the time for one message to every
 * room to reach every client.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { graphql } from "../lib/clients.js";
import { difference, sample, settledRssBytes } from "../lib/procstat.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, type Fixture, type Stack } from "../lib/stack.js";
import { round } from "../lib/stats.js";

const FIRST = 5_000;
const PER_FLEET = 12_000;
/** What the process needs besides its clients: Kafka, PostgreSQL, its listening sockets. */
const FD_RESERVE = 1_000;
const IDLE_SECONDS = 10;
const SUBSCRIPTION = `subscription($r: ID!) { messageAdded(roomId: $r) { seq } }`;
const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }`;
const fleetScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../lib/fleet.ts");

/** A fleet process and the lines it prints. */
class Fleet {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly child: ChildProcess) {
    this.lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  static start(index: number, count: number, chat: Chat, fixture: Fixture) {
    const child = spawn(process.execPath, ["--import", "tsx", fleetScript], {
      env: {
        ...process.env,
        FLEET_COUNT: String(count),
        FLEET_WS_URL: chat.url.replace(/^http/, "ws"),
        FLEET_TOKEN: fixture.reader.token,
        FLEET_QUERY: SUBSCRIPTION,
        FLEET_ROOMS: fixture.rooms.join(","),
        FLEET_LOCAL_ADDRESS: `127.0.0.${index + 2}`,
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    return new Fleet(child);
  }

  /** Resolves at the first line that starts with `prefix`, logging progress lines on the way. */
  async until(prefix: string, log: (l: string) => void) {
    for (;;) {
      const { value, done } = await this.lines.next();
      if (done) throw new Error(`a client fleet exited before printing ${prefix}`);
      if (value.startsWith(prefix)) return;
      log(`scale: fleet ${this.child.pid}: ${value}`);
    }
  }

  async stop() {
    if (this.child.exitCode !== null) return;
    this.child.stdin!.write("stop\n");
    await new Promise((r) => this.child.once("exit", r));
  }
}

const maxOpenFiles = (pid: number) =>
  Number(/Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, "utf8"))?.[1] ?? 1024);
const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** At the current number of clients: memory per client, idle CPU, and one message per room to all of them. */
async function measure(
  chat: Chat,
  fixture: Fixture,
  /** Each fleet with how many messages its clients will have had once this one arrives. */
  arrivals: Array<[Fleet, number]>,
  clients: number,
  empty: number,
  log: (l: string) => void,
) {
  const api = chat.api!;
  const perClient = ((await settledRssBytes(() => api.rssBytes())) - empty) / clients;
  const before = sample(chat.processGroups());
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const idle = difference(before, sample(chat.processGroups()));
  log(`scale: one message to each of ${fixture.rooms.length} rooms, to all ${clients} clients`);
  const sent = performance.now();
  const received = arrivals.map(([fleet, k]) => fleet.until(`received ${k}`, log));
  await Promise.all(
    fixture.rooms.map((r, i) => graphql(chat.url, SEND, { r, b: `to all ${clients}.${i}` }, fixture.sender.token)),
  );
  await Promise.all(received);
  return {
    perClientKiB: round(perClient / 1024, 1),
    apiIdleMsPerSecond: round((idle.get("api")?.cpuMs ?? 0) / IDLE_SECONDS, 1),
    idleMsPerSecond: Object.fromEntries([...idle].map(([name, p]) => [name, round(p.cpuMs / IDLE_SECONDS, 1)])),
    fanoutMs: round(performance.now() - sent, 0),
    openFiles: openFiles(api.pid),
    rssMiB: round(api.rssBytes() / 2 ** 20, 0),
  };
}

export async function scaleScenario(
  stack: Stack,
  opts: { clients: number; rooms: number },
  log: (l: string) => void,
): Promise<Row[]> {
  const chat = await Chat.start(Chat.env(stack), { api: true, workers: 1 });
  const fleets: Fleet[] = [];
  try {
    const api = chat.api!;
    const limit = maxOpenFiles(api.pid);
    const clients = Math.min(opts.clients, limit - FD_RESERVE);
    log(`scale: ${clients} clients (asked ${opts.clients}; the API process may open ${limit} files)`);
    const fixture = await createFixture(chat.url, opts.rooms);
    const empty = await settledRssBytes(() => api.rssBytes());
    const openFleet = async (count: number) => {
      const fleet = Fleet.start(fleets.length, count, chat, fixture);
      fleets.push(fleet);
      await fleet.until("ready", log);
    };
    await openFleet(FIRST);
    const first = await measure(chat, fixture, [[fleets[0]!, 1]], FIRST, empty, log);
    const started = performance.now();
    const rest: Promise<void>[] = [];
    for (let left = clients - FIRST; left > 0; left -= PER_FLEET) rest.push(openFleet(Math.min(PER_FLEET, left)));
    await Promise.all(rest);
    const openSeconds = round((performance.now() - started) / 1000, 1);
    // The first fleet's clients have had one message already.
    const arrivals = fleets.map((fleet, i): [Fleet, number] => [fleet, i === 0 ? 2 : 1]);
    const all = await measure(chat, fixture, arrivals, clients, empty, log);

    const scenario = `6b. one API process, ${clients} idle subscribed clients`;
    const baselineName = `${FIRST} clients`;
    const details = {
      clients,
      asked: opts.clients,
      maxOpenFiles: limit,
      fleets: fleets.length,
      openSeconds,
      first,
      all,
    };
    return [
      row({
        scenario,
        figure: "memory per client",
        value: all.perClientKiB,
        unit: "KiB",
        baselineName,
        baseline: first.perClientKiB,
        lowerIsBetter: true,
        target: "<= 10 KiB",
        met: all.perClientKiB <= 10,
        details,
      }),
      row({
        scenario,
        figure: `clients held (limit: ${limit} open files, ${all.openFiles} open)`,
        value: clients,
        unit: "clients",
        baselineName: "asked",
        baseline: opts.clients,
      }),
      row({
        scenario,
        figure: "API CPU while idle",
        value: all.apiIdleMsPerSecond,
        unit: "ms/s",
        baselineName,
        baseline: first.apiIdleMsPerSecond,
        lowerIsBetter: true,
      }),
      row({
        scenario,
        figure: "one message per room to every client",
        value: all.fanoutMs,
        unit: "ms",
        baselineName,
        baseline: first.fanoutMs,
        lowerIsBetter: true,
      }),
    ];
  } finally {
    await Promise.all(fleets.map((f) => f.stop()));
    await chat.stop();
  }
}
