/** 3. Fan-out: deliveries per second to many subscribers of one room. */
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { graphql, openMany, subscribe, type Subscriber } from "../lib/clients.js";
import { startBaseline } from "../lib/processes.js";
import { cpuMeter } from "../lib/procstat.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, type Stack } from "../lib/stack.js";
import { round } from "../lib/stats.js";

const SUBSCRIPTION = `subscription($r: ID!) { messageAdded(roomId: $r) { id seq body createdAt sender { id username } } }`;

export async function fanoutScenario(
  stack: Stack,
  opts: { subscribers: number; messages: number },
  log: (l: string) => void,
): Promise<Row[]> {
  const expected = opts.subscribers * opts.messages;
  let received = 0;
  let lastAt = 0;
  let samplePayload = "";
  const onData = (data: unknown, at: number) => {
    received++;
    lastAt = at;
    if (!samplePayload) samplePayload = JSON.stringify({ id: "1", type: "next", payload: { data } });
  };

  const chat = await Chat.start(Chat.env(stack), { api: true, workers: 1 });
  let ours: number;
  let oursCpuUs: number;
  const subs: Subscriber[] = [];
  try {
    const fixture = await createFixture(chat.url, 1);
    const room = fixture.rooms[0]!;
    log(`fan-out: opening ${opts.subscribers} subscriptions to one room`);
    subs.push(
      ...(await openMany(
        opts.subscribers,
        50,
        () => subscribe(chat.url.replace(/^http/, "ws"), fixture.reader.token, SUBSCRIPTION, { r: room }, onData),
        (n) => log(`fan-out: ${n} open`),
      )),
    );
    await graphql(
      chat.url,
      `
        mutation ($r: ID!) {
          sendMessage(roomId: $r, body: "warm-up") {
            seq
          }
        }
      `,
      { r: room },
      fixture.sender.token,
    );
    while (received < opts.subscribers) await new Promise((r) => setTimeout(r, 20));
    received = 0;
    log(`fan-out: ${opts.messages} messages to ${opts.subscribers} subscribers`);
    const api = cpuMeter(chat.api!.pid);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: opts.messages }, (_, i) =>
        graphql(
          chat.url,
          `
            mutation ($r: ID!, $b: String!) {
              sendMessage(roomId: $r, body: $b) {
                seq
              }
            }
          `,
          { r: room, b: `fan-out message ${i}` },
          fixture.sender.token,
        ),
      ),
    );
    const deadline = Date.now() + 120_000;
    while (received < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ours = received / ((lastAt - started) / 1000);
    oursCpuUs = (api() * 1000) / received;
  } finally {
    subs.forEach((s) => s.close());
    await chat.stop();
  }
  const oursReceived = received;

  log(`fan-out: baseline, raw ws broadcasting the same payload to ${opts.subscribers} sockets`);
  const ws = await startBaseline("wsBroadcast.ts");
  let base: number;
  let baseCpuUs: number;
  const sockets: WebSocket[] = [];
  try {
    received = 0;
    sockets.push(
      ...(await openMany(
        opts.subscribers,
        50,
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(ws.origin.replace(/^http/, "ws"));
            socket.on("message", (raw) => onData(JSON.parse(raw.toString()).payload.data, performance.now()));
            socket.once("open", () => resolve(socket)).once("error", reject);
          }),
      )),
    );
    received = 0;
    const server = cpuMeter(ws.child.pid!);
    const started = performance.now();
    await fetch(`${ws.origin}/broadcast?count=${opts.messages}`, { method: "POST", body: samplePayload });
    const deadline = Date.now() + 120_000;
    while (received < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    base = received / ((lastAt - started) / 1000);
    baseCpuUs = (server() * 1000) / received;
  } finally {
    sockets.forEach((s) => s.terminate());
    await ws.stop();
  }
  return [
    row({
      scenario: `3. fan-out, ${opts.subscribers} subscribers x ${opts.messages} messages`,
      figure: "deliveries/s",
      value: round(ours, 0),
      unit: "msg/s",
      baselineName: "raw ws broadcast",
      baseline: round(base, 0),
      target: ">= 0.5x baseline",
      met: ours >= base / 2,
      details: { expected, received: oursReceived, payloadBytes: samplePayload.length },
    }),
    row({
      scenario: `3. fan-out, ${opts.subscribers} subscribers x ${opts.messages} messages`,
      figure: "server CPU per delivery",
      value: round(oursCpuUs, 1),
      unit: "µs",
      baselineName: "raw ws broadcast",
      baseline: round(baseCpuUs, 1),
      lowerIsBetter: true,
    }),
  ];
}

/** CPU-ms the server process has used since this call (ours includes taking the sends). */
