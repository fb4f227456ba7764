/** Pinned messages over real HTTP, WebSockets, Kafka and PostgreSQL. */
import { expect, it } from "vitest";
import {
  createRoom,
  errorCode,
  gql,
  gqlOk,
  signUp,
  TestSubscription,
  useTestApp,
  wsClient,
} from "./support/harness.js";

const t = useTestApp();

const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }`;
const PIN = `mutation($m: ID!) { pinMessage(messageId: $m) { id body } }`;
const UNPIN = `mutation($m: ID!) { unpinMessage(messageId: $m) { id } }`;
const PINNED = `query($r: ID!) { room(id: $r) { pinnedMessages { id body } } }`;
const UPDATES = `subscription($r: ID!) { messageUpdated(roomId: $r) { id } }`;

it("pins for every member, newest pin first, live as messageUpdated; members and outsiders cannot pin", async () => {
  const [alice, bob, mallory] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  const room = await createRoom(t.url, alice, [bob]);
  const [first, second] = [
    (await gqlOk(t.url, SEND, { r: room, b: "first" }, alice.token)).sendMessage.id as string,
    (await gqlOk(t.url, SEND, { r: room, b: "second" }, alice.token)).sendMessage.id as string,
  ];
  const client = wsClient(t.wsUrl, bob.token);
  try {
    const updates = new TestSubscription(client, UPDATES, { r: room });
    // Pin until the subscription is live (it starts after its first event), then pin the second.
    for (let live = false; !live;) {
      await gqlOk(t.url, UNPIN, { m: first }, alice.token);
      await gqlOk(t.url, PIN, { m: first }, alice.token);
      live = await updates
        .waitFor((s) => s.data.some((d) => d.messageUpdated.id === first), 1000)
        .then(
          () => true,
          () => false,
        );
    }
    // In a group room its owner and admins pin.
    expect(errorCode(await gql(t.url, PIN, { m: second }, bob.token))).toBe("FORBIDDEN");
    expect((await gqlOk(t.url, PIN, { m: second }, alice.token)).pinMessage).toEqual({ id: second, body: "second" });
    await updates.waitFor((s) => s.data.some((d) => d.messageUpdated.id === second));
    const { room: seen } = await gqlOk(t.url, PINNED, { r: room }, bob.token);
    expect(seen.pinnedMessages.map((m: { id: string }) => m.id)).toEqual([second, first]);

    expect(errorCode(await gql(t.url, PIN, { m: first }, mallory.token))).toBe("FORBIDDEN");
    expect(errorCode(await gql(t.url, PINNED, { r: room }, mallory.token))).toBe("FORBIDDEN");
    await gqlOk(t.url, `mutation($m: ID!) { deleteMessage(messageId: $m) { id } }`, { m: second }, alice.token);
    const after = await gqlOk(t.url, PINNED, { r: room }, alice.token);
    expect(after.room.pinnedMessages.map((m: { id: string }) => m.id)).toEqual([first]);
  } finally {
    await client.dispose();
  }
});
