import { afterEach, expect, it } from "vitest";
import WebSocket from "ws";
import { waitUntil } from "../../scripts/app-process.js";
import { Scenario } from "./support/scenario.js";
import { createRooms, report, ResumingSubscriber, sendStream, waitForDeliveries } from "./support/stream.js";

let scenario: Scenario | undefined;
let healthy: ResumingSubscriber | undefined;
let stalled: WebSocket | undefined;
afterEach(async () => {
  stalled?.terminate();
  await healthy?.stop();
  await scenario?.stop();
  scenario = healthy = stalled = undefined;
});

/** A graphql-ws client that subscribes and then never reads its socket again. */
async function stalledSubscriber(url: string, token: string, roomId: string): Promise<WebSocket> {
  const socket = new WebSocket(url.replace(/^http/, "ws"), "graphql-transport-ws");
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
  await new Promise<void>((resolve) =>
    socket.on("message", (data) => {
      if (JSON.parse(data.toString()).type === "connection_ack") resolve();
    }),
  );
  socket.send(
    JSON.stringify({
      id: "1",
      type: "subscribe",
      payload: { query: `subscription($r: ID!) { messageAdded(roomId: $r) { seq body } }`, variables: { r: roomId } },
    }),
  );
  // Stop reading: the kernel buffers fill, then the server's writes back up.
  (socket as unknown as { _socket: { pause(): void } })._socket.pause();
  return socket;
}

it("disconnects a subscriber that never reads, keeps memory bounded and serves everyone else", async () => {
  scenario = await Scenario.start({ apis: 1, workers: 1 }, { SUBSCRIPTION_QUEUE_LIMIT: "200" });
  const s = scenario;
  const api = s.apis[0]!;
  const [room] = await createRooms(api.url, 1);
  stalled = await stalledSubscriber(api.url, room!.members[1]!.token, room!.id);
  healthy = new ResumingSubscriber(s.urls, room!.members[1]!, room!.id);
  healthy.start();
  await waitUntil(async () => (await api.metric("chat_subscriptions")) === 2, 10_000, "both subscriptions");
  const rssBefore = api.rssBytes();

  // 2,000 messages of 4,000 characters: about 8 MB of events for the stalled reader.
  const result = await sendStream({
    urls: s.urls,
    rooms: [room!],
    total: 2000,
    concurrency: 16,
    prefix: "flood",
    bodyLength: 4000,
  });
  await waitUntil(
    async () => (await api.metric("chat_slow_subscribers_closed_total")) >= 1,
    30_000,
    "the stalled subscriber to be closed",
  );
  await waitUntil(
    async () => (await api.metric("chat_subscriptions")) === 1,
    30_000,
    "only the healthy subscription to remain",
  );
  const rssAfter = api.rssBytes();

  const delivery = await waitForDeliveries([healthy], new Map([[room!.id, 2000]]), 60_000);
  report("subscriber that never reads", {
    sent: result.sent,
    acknowledged: result.acknowledged.size,
    deliveredToHealthy: delivery.delivered,
    duplicates: delivery.duplicates,
    slowClosed: await api.metric("chat_slow_subscribers_closed_total"),
    rssBeforeMB: Math.round(rssBefore / 1e6),
    rssAfterMB: Math.round(rssAfter / 1e6),
  });
  expect(result.acknowledged.size).toBe(2000);
  expect(delivery.duplicates).toBe(0);
  expect(rssAfter - rssBefore).toBeLessThan(150e6);
});
