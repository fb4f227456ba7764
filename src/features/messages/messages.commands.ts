import { z } from "zod";
import { anyOf } from "../../db/arrays.js";
import { messageColumns, messages, type MessageRow } from "../../db/schema.js";
import { defineCommand, messageRecord, type Applied } from "../../commands/protocol.js";
import { clientMessageId, messageBody } from "./messages.rules.js";
import { addedEvent, messageIdOf, sendMessages } from "./sendMessages.commands.js";

export const sendMessageCommand = defineCommand({
  type: "SendMessage",
  payload: z.object({
    roomId: z.uuid(),
    body: messageBody,
    clientMessageId: clientMessageId.nullable(),
    parentId: z.uuid().nullable().default(null),
    quotedMessageId: z.uuid().nullable().default(null),
  }),
  result: messageRecord,
  key: (p) => p.roomId,
  // One command is a run of one: the same statement, so both paths decide alike.
  async apply(tx, command) {
    const [decided] = await sendMessages(tx, [command]);
    if (!decided!.ok) throw decided!.error;
    return decided!.applied;
  },
  applyMany: sendMessages,
  // The message row is the command's record: found by its id (messageIdOf).
  async findApplied(tx, commands) {
    const ids = new Map(commands.map((c) => [c.id, messageIdOf(c)]));
    const stored = await tx
      .select(messageColumns)
      .from(messages)
      .where(anyOf(messages.id, [...new Set(ids.values())]));
    const byId = new Map(stored.map((m) => [m.id, m]));
    const applied = new Map<string, Applied<MessageRow>>();
    for (const { id: commandId, issuedAt } of commands) {
      const message = byId.get(ids.get(commandId)!);
      if (message) applied.set(commandId, { result: message, events: [addedEvent(message, issuedAt)] });
    }
    return applied;
  },
  resultOf: (event) => (event.type === "MessageAdded" ? event.message : undefined),
});

export const messageCommands = [sendMessageCommand];
