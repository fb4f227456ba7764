-- A message's id is now the id of the SendMessage command that stored it, which is how a
-- redelivered command finds it (older messages' commands are all in command_log).
DROP INDEX "messages_command_key";--> statement-breakpoint
ALTER TABLE "messages" DROP COLUMN "command_id";--> statement-breakpoint
-- Every event, queryable in one place: the event log's records, and each message as the
-- MessageAdded event it was published as. A message's row is its event's only durable copy,
-- so the chat path writes it once (the event-log consumer passes over MessageAdded records).
CREATE VIEW "event_history" AS
  SELECT "produced_at" AS "at", "channel", "payload" FROM "event_log"
  UNION ALL
  SELECT "created_at", 'room.' || "room_id", jsonb_build_object(
    'type', 'MessageAdded', 'roomId', "room_id", 'message', jsonb_build_object(
      'id', "id", 'roomId', "room_id", 'seq', "seq", 'senderId', "sender_id", 'body', "body",
      'clientMessageId', "client_message_id", 'createdAt', "created_at"))
  FROM "messages";
