import { useCallback, useEffect, useRef, useState } from "react";
import { useClient } from "urql";
import { trustedPayload, type Connection } from "./client";
import type { HistoryQuery, MessageFieldsFragment, ThreadFieldsFragment } from "./gql/graphql";
import { History, MessageAdded, MessageUpdated } from "./operations";

/** A message as shown: its thread summary comes with history and changes, not with new messages. */
export type Message = MessageFieldsFragment & Partial<ThreadFieldsFragment>;
type ReadPosition = NonNullable<HistoryQuery["room"]>["readPositions"][number];

/**
 * A room's messages by seq: a page of history, older pages on demand, then live ones from
 * messageAdded (replies too: a thread panel takes them from here). After the socket drops and
 * comes back, the stream resumes with afterSeq = the last seq seen, so nothing is missed and
 * nothing shown twice. Edits, deletions, reactions and thread summaries update the message in
 * place, from messageUpdated, which resumes from the feed's cursor (those made meanwhile are
 * replayed).
 */
export function useRoomMessages(connection: Connection, roomId: string, feedCursor: () => string | null) {
  const client = useClient();
  const [messages, setMessages] = useState<Map<number, Message>>(new Map());
  const [hasOlder, setHasOlder] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [readPositions, setReadPositions] = useState<ReadPosition[]>([]);
  /** Counts the room's message changes seen live (a pin among them: the header re-reads its pins). */
  const [changes, setChanges] = useState(0);
  const lastSeq = useRef(0);
  const add = useCallback((batch: Message[]) => {
    if (batch.length === 0) return;
    setMessages((current) => {
      const next = new Map(current);
      for (const message of batch) next.set(message.seq, { ...next.get(message.seq), ...message });
      return next;
    });
    lastSeq.current = Math.max(lastSeq.current, ...batch.map((m) => m.seq));
  }, []);

  const loadOlder = useCallback(
    async (beforeSeq?: number) => {
      const result = await client.query(History, { roomId, beforeSeq }).toPromise();
      if (result.error) return setError(result.error);
      const page = result.data?.room?.messages ?? [];
      if (beforeSeq === undefined) setReadPositions(result.data?.room?.readPositions ?? []);
      setHasOlder(page.length === 30);
      add(page);
    },
    [client, roomId, add],
  );

  useEffect(() => {
    let stopMessages: { stop(): void } | null = null;
    let cancelled = false;
    // Resumes after the last seq seen: nothing missed, nothing twice.
    const messagesFrom = () =>
      connection.ws.subscribe(trustedPayload(MessageAdded, { roomId, afterSeq: lastSeq.current }), {
        next: ({ data, errors }) => {
          if (errors) setError(new Error(errors[0]?.message));
          const message = (data as { messageAdded?: Message } | null)?.messageAdded;
          if (message) add([message]);
        },
        error: setError,
        complete: () => {},
      });
    void loadOlder().then(() => {
      if (!cancelled) stopMessages = connection.resumable(messagesFrom);
    });
    // Resumes after the feed's last cursor: the room's edits, deletions, ... meanwhile are replayed.
    const updates = connection.resumable(() =>
      connection.ws.subscribe(trustedPayload(MessageUpdated, { roomId, after: feedCursor() }), {
        next: ({ data, errors }) => {
          const message = (data as { messageUpdated?: Message } | null)?.messageUpdated;
          if (!message) return;
          add([message]);
          setChanges((n) => n + 1);
        },
        error: () => {},
        complete: () => {},
      }),
    );
    return () => {
      cancelled = true;
      stopMessages?.stop();
      updates.stop();
    };
  }, [connection, roomId, add, loadOlder, feedCursor]);

  const sorted = [...messages.values()].sort((a, b) => a.seq - b.seq);
  return { messages: sorted, hasOlder, loadOlder: () => loadOlder(sorted[0]?.seq), error, add, readPositions, changes };
}
