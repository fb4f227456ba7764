/**
 * The WebSocket heartbeat: a socket that stays silent is pinged, and dropped once it leaves a
 * ping unanswered; a socket that talks (graphql-ws pings of its own, as the web client sends
 * every 5 s) is never pinged. A socket that never sends connection_init is closed (4408), even
 * while it pings; one whose message is not a JSON object, at once (4400).
 */
import { expect, it } from "vitest";
import WebSocket from "ws";
import { waitUntil } from "../scripts/app-process.js";
import { signUp, testConfig, useTestApp } from "./support/harness.js";

const t = useTestApp({ config: testConfig({ WS_KEEPALIVE_MS: "200" }) });

/** A signed-in graphql-ws socket that counts the pings it gets; `autoPong: false` leaves them unanswered. */
async function socket(token: string, autoPong: boolean) {
  const ws = new WebSocket(t.wsUrl, "graphql-transport-ws", { autoPong });
  const state = { pings: 0, closed: false, ws };
  ws.on("ping", () => state.pings++);
  ws.on("close", () => (state.closed = true));
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", () =>
      ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })),
    );
    ws.on("message", (raw) => {
      if (JSON.parse(raw.toString()).type === "connection_ack") resolve();
    });
  });
  return state;
}

/** An open graphql-ws socket that has sent nothing yet, and the close code it will get. */
async function unsignedSocket() {
  const ws = new WebSocket(t.wsUrl, "graphql-transport-ws");
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  return { ws, closed };
}

it("pings silent sockets, drops one that does not answer, and leaves a talking one alone", async () => {
  const user = await signUp(t.url);
  const [silent, deaf, talking] = await Promise.all([
    socket(user.token, true),
    socket(user.token, false),
    socket(user.token, true),
  ]);
  const chatter = setInterval(() => talking.ws.send(JSON.stringify({ type: "ping" })), 50);
  try {
    await waitUntil(() => deaf.closed, 5_000, "the socket that answers no ping to be dropped");
    expect(deaf.pings).toBeGreaterThan(0);
    await waitUntil(() => silent.pings >= 3, 5_000, "three pings to the silent socket");
    expect(silent.closed).toBe(false);
    expect(talking.pings).toBe(0);
    expect(talking.closed).toBe(false);
  } finally {
    clearInterval(chatter);
    for (const s of [silent, deaf, talking]) s.ws.terminate();
  }
});

it("closes a socket that does not send connection_init within 3 s, pinging or not, and keeps one that did", async () => {
  const user = await signUp(t.url);
  const signedIn = await socket(user.token, true);
  const [silent, pinging] = await Promise.all([unsignedSocket(), unsignedSocket()]);
  const pings = setInterval(() => pinging.ws.send(JSON.stringify({ type: "ping" })), 200);
  try {
    const openedAt = Date.now();
    expect(await Promise.all([silent.closed, pinging.closed])).toEqual([4408, 4408]);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(2_900);
    expect(signedIn.closed).toBe(false);
  } finally {
    clearInterval(pings);
    signedIn.ws.terminate();
  }
});

it("closes a socket whose message is not a JSON object, a JSON string holding one among them (4400)", async () => {
  const init = JSON.stringify({ type: "connection_init" });
  const codes = await Promise.all(
    [JSON.stringify(init), "[1]", "{not json", "null"].map(async (text) => {
      const { ws, closed } = await unsignedSocket();
      ws.send(text);
      return closed;
    }),
  );
  expect(codes).toEqual([4400, 4400, 4400, 4400]);
});
