/** 6. Connections: memory per idle, subscribed WebSocket client, read once each process has settled. */
import WebSocket from "ws";
import { openMany, subscribe, type Subscriber } from "../lib/clients.js";
import { startBaseline } from "../lib/processes.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, type Stack } from "../lib/stack.js";
import { round } from "../lib/stats.js";
import { settledRssBytes } from "../lib/procstat.js";

export async function connectionsScenario(
  stack: Stack,
  opts: { clients: number; rooms: number },
  log: (l: string) => void,
): Promise<Row[]> {
  const chat = await Chat.start(Chat.env(stack), { api: true, workers: 1 });
  const subs: Subscriber[] = [];
  let ours: number;
  try {
    const fixture = await createFixture(chat.url, opts.rooms);
    const before = await settledRssBytes(() => chat.api!.rssBytes());
    log(`connections: opening ${opts.clients} idle subscribed clients`);
    subs.push(
      ...(await openMany(
        opts.clients,
        50,
        (i) =>
          subscribe(
            chat.url.replace(/^http/, "ws"),
            fixture.reader.token,
            `subscription($r: ID!) { messageAdded(roomId: $r) { seq } }`,
            { r: fixture.rooms[i % opts.rooms] },
            () => {},
          ),
        (n) => log(`connections: ${n} open`),
      )),
    );
    ours = ((await settledRssBytes(() => chat.api!.rssBytes())) - before) / opts.clients;
  } finally {
    subs.forEach((s) => s.close());
    await chat.stop();
  }

  log(`connections: baseline, ${opts.clients} idle sockets on a raw ws server`);
  const ws = await startBaseline("wsBroadcast.ts");
  const sockets: WebSocket[] = [];
  let base: number;
  try {
    const before = await settledRssBytes(() => ws.rssBytes());
    sockets.push(
      ...(await openMany(
        opts.clients,
        50,
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(ws.origin.replace(/^http/, "ws"));
            socket.once("open", () => resolve(socket)).once("error", reject);
          }),
      )),
    );
    base = ((await settledRssBytes(() => ws.rssBytes())) - before) / opts.clients;
  } finally {
    sockets.forEach((s) => s.terminate());
    await ws.stop();
  }
  return [
    row({
      scenario: `6. connections, ${opts.clients} idle subscribed clients`,
      figure: "memory per client",
      value: round(ours / 1024, 1),
      unit: "KiB",
      baselineName: "raw ws idle socket",
      baseline: round(base / 1024, 1),
      lowerIsBetter: true,
      target: "<= 10 KiB",
      met: ours / 1024 <= 10,
    }),
  ];
}
