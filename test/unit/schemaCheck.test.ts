/** The schema check (scripts/schema-check.ts) over the repository's schema and over small examples. */
import { expect, it } from "vitest";
import { checkSchema, currentSdl, lastRelease, readIntended } from "../../scripts/schema-check.js";

const RELEASED = `
  type Query { room(id: ID!): Room }
  type Room { id: ID! name: String! topic: String }
`;

it("finds no breaking change in schema/ against the last released schema that is not marked intended", async () => {
  const release = lastRelease();
  expect(release, "schema/releases/ holds a released schema").not.toBeNull();
  const result = await checkSchema(release!.sdl, currentSdl(), readIntended());
  expect(result.unintended.map((c) => c.message)).toEqual([]);
  expect(result.stale).toEqual([]);
});

it("fails on a removed field or a type made stricter, and passes additions", async () => {
  const current = `
    type Query { room(id: ID!): Room rooms: [Room!]! }
    type Room { id: ID! name: String! }
  `;
  const result = await checkSchema(RELEASED, current, []);
  expect(result.unintended.map((c) => c.message)).toEqual(["Field 'topic' was removed from object type 'Room'"]);
  expect(result.others.map((c) => c.message)).toEqual(["Field 'rooms' was added to object type 'Query'"]);

  const stricter = await checkSchema(RELEASED, RELEASED.replace("room(id: ID!)", "room(id: ID!, by: String!)"), []);
  expect(stricter.unintended).toHaveLength(1);
});

it("passes a breaking change marked intended, and names an intended change that is not made", async () => {
  const current = `
    type Query { room(id: ID!): Room }
    type Room { id: ID! name: String! }
  `;
  const intended = [
    { change: "Field 'topic' was removed from object type 'Room'", why: "topics moved to room settings" },
    { change: "Field 'name' was removed from object type 'Room'", why: "not done after all" },
  ];
  const result = await checkSchema(RELEASED, current, intended);
  expect(result.unintended).toEqual([]);
  expect(result.intended.map((c) => c.message)).toEqual([intended[0]!.change]);
  expect(result.stale).toEqual([intended[1]]);
});
