/**
 * Operation limits, the same over HTTP and WebSocket: what a signed-in attacker sends is
 * refused before it runs, with a code and a message naming the limit; what a client app
 * sends is not.
 */
import { describe, expect, it } from "vitest";
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

const NESTED_PAGES = `query($r: ID!) { room(id: $r) { messages(last: 100) { room { messages(last: 100) { room { messages(last: 100) { id seq body } } } } } } }`;
const TOO_DEEP = `query { me { friends { friends { friends { friends { friends { friends { friends { id } } } } } } } } }`;
const ALIASES = `query($r: ID!) { ${Array.from({ length: 16 }, (_, i) => `a${i}: room(id: $r) { id }`).join(" ")} }`;
const TOKENS = `query { ${Array.from({ length: 2100 }, () => "__typename").join(" ")} }`;

async function member() {
  const [alice, bob] = await Promise.all([signUp(t.url), signUp(t.url)]);
  return { alice: alice!, roomId: await createRoom(t.url, alice!, [bob!]) };
}

/** The first error a subscription is refused with. */
async function refusedSubscription(token: string, query: string, variables: Record<string, unknown>) {
  const client = wsClient(t.wsUrl, token);
  const sub = new TestSubscription(client, query, variables);
  try {
    await sub.waitFor((s) => s.completed, 10_000, "the refusal");
    return (sub.error as Array<{ message: string; extensions?: { code?: string } }>)[0]!;
  } finally {
    sub.close();
    await client.dispose();
  }
}

describe("operation limits", () => {
  it("refuses nested pages by their cost, naming the cost and the limit, over HTTP", async () => {
    const { alice, roomId } = await member();
    const result = await gql(t.url, NESTED_PAGES, { r: roomId }, alice.token);
    expect(errorCode(result)).toBe("OPERATION_LIMIT_EXCEEDED");
    expect(result.errors?.[0]?.message).toMatch(/operation cost \d+ exceeds the limit of 20000/);
    expect(result.errors?.[0]?.extensions).toMatchObject({ limit: 20000 });
    expect(result.data).toBeUndefined();
  });

  it("counts list sizes given in variables", async () => {
    const { alice, roomId } = await member();
    const PAGE = `query($r: ID!, $n: Int!) { room(id: $r) { messages(last: $n) { room { messages(last: $n) { id } } } } }`;
    expect(errorCode(await gql(t.url, PAGE, { r: roomId, n: 100 }, alice.token))).toBe("OPERATION_LIMIT_EXCEEDED");
    expect((await gqlOk(t.url, PAGE, { r: roomId, n: 10 }, alice.token)).room.messages).toEqual([]);
    // The same text is judged again per variables wherever they set a list size or a directive.
    const MAYBE = `query($r: ID!, $d: Boolean!) { room(id: $r) { messages(last: 100) { room { messages(last: 100) @include(if: $d) { id } } } } }`;
    expect((await gqlOk(t.url, MAYBE, { r: roomId, d: false }, alice.token)).room.messages).toEqual([]);
    expect(errorCode(await gql(t.url, MAYBE, { r: roomId, d: true }, alice.token))).toBe("OPERATION_LIMIT_EXCEEDED");
  });

  it("refuses depth, aliases and tokens past their limits over HTTP", async () => {
    const { alice, roomId } = await member();
    const deep = await gql(t.url, TOO_DEEP, {}, alice.token);
    expect(errorCode(deep)).toBe("OPERATION_LIMIT_EXCEEDED");
    expect(deep.errors?.[0]?.message).toMatch(/depth limit of 8 exceeded, found 9/);
    const aliases = await gql(t.url, ALIASES, { r: roomId }, alice.token);
    expect(errorCode(aliases)).toBe("OPERATION_LIMIT_EXCEEDED");
    expect(aliases.errors?.[0]?.message).toMatch(/Aliases limit of 15 exceeded, found 16/);
    const tokens = await gql(t.url, TOKENS, {}, alice.token);
    expect(errorCode(tokens)).toBe("GRAPHQL_PARSE_FAILED");
    expect(tokens.errors?.[0]?.message).toMatch(/2000 tokens/);
  });

  it("applies the same limits to subscriptions over WebSocket", async () => {
    const { alice, roomId } = await member();
    const nested = await refusedSubscription(
      alice.token,
      `subscription($r: ID!) { messageAdded(roomId: $r) { room { messages(last: 100) { room { messages(last: 100) { id } } } } } }`,
      { r: roomId },
    );
    expect(nested.extensions?.code).toBe("OPERATION_LIMIT_EXCEEDED");
    expect(nested.message).toMatch(/operation cost \d+ exceeds the limit/);
    const deep = await refusedSubscription(
      alice.token,
      `subscription($r: ID!) { messageAdded(roomId: $r) { sender { friends { friends { friends { friends { friends { friends { id } } } } } } } } }`,
      { r: roomId },
    );
    expect(deep.extensions?.code).toBe("OPERATION_LIMIT_EXCEEDED");
    const tokens = await refusedSubscription(
      alice.token,
      `subscription($r: ID!) { messageAdded(roomId: $r) { ${Array.from({ length: 2100 }, () => "id").join(" ")} } }`,
      { r: roomId },
    );
    expect(tokens.extensions?.code).toBe("GRAPHQL_PARSE_FAILED");
  });

  it("lets a chat client's heaviest screens through", async () => {
    const { alice, roomId } = await member();
    const roomList = await gqlOk(
      t.url,
      `query { rooms(first: 100) { id name unreadCount lastReadSeq
        lastMessage { id seq body createdAt sender { id username displayName } }
        members { id username displayName } } }`,
      {},
      alice.token,
    );
    expect(roomList.rooms).toHaveLength(1);
    const history = await gqlOk(
      t.url,
      `query($r: ID!) { room(id: $r) { id name messages(last: 100) { id seq body createdAt clientMessageId
        sender { id username displayName statusMessage } } members { id displayName } } }`,
      { r: roomId },
      alice.token,
    );
    expect(history.room.messages).toEqual([]);
  });
});
