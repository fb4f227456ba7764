import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useMutation, useSubscription } from "urql";
import type { Connection } from "./client";
import { explain } from "./errors";
import type { MeQuery } from "./gql/graphql";
import { DeleteMessage, EditMessage, MarkRead, React as ReactTo, SendMessage, SetTyping, Typing } from "./operations";
import type { Receipt } from "./Sidebar";
import { useRoomMessages, type Message } from "./useRoomMessages";

interface Pending {
  clientMessageId: string;
  body: string;
  failed: string | null;
}

/** One room: history paging upwards, live messages, pending sends, typing, receipts, and changing your own messages. */
export function RoomView(props: {
  roomId: string;
  me: NonNullable<MeQuery["me"]>;
  connection: Connection;
  receipts: Receipt[];
}) {
  const { roomId, me } = props;
  const { messages, hasOlder, loadOlder, error, add, readPositions } = useRoomMessages(props.connection, roomId);
  const [pending, setPending] = useState<Pending[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [, send] = useMutation(SendMessage);
  const [, markRead] = useMutation(MarkRead);
  const [, setTyping] = useMutation(SetTyping);
  const composer = useRef<HTMLTextAreaElement>(null);
  const typing = useTypingNames(roomId, me.id);
  const newest = messages.at(-1)?.seq ?? 0;

  // A message that arrives confirms the pending one with its clientMessageId.
  useEffect(() => {
    const confirmed = new Set(messages.map((m) => m.clientMessageId));
    setPending((all) => all.filter((p) => !confirmed.has(p.clientMessageId)));
  }, [messages]);
  useEffect(() => {
    if (newest > 0) void markRead({ roomId, seq: newest });
  }, [newest, roomId, markRead]);

  async function deliver(item: Pending) {
    setPending((all) => [...all.filter((p) => p.clientMessageId !== item.clientMessageId), { ...item, failed: null }]);
    const result = await send({ roomId, body: item.body, clientMessageId: item.clientMessageId });
    if (result.data) add([result.data.sendMessage]);
    else
      setPending((all) =>
        all.map((p) => (p.clientMessageId === item.clientMessageId ? { ...p, failed: explain(result.error) } : p)),
      );
  }
  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key !== "Enter" || event.shiftKey) return;
    event.preventDefault();
    const body = event.currentTarget.value.trim();
    if (!body) return;
    event.currentTarget.value = "";
    void setTyping({ roomId, typing: false });
    // The same clientMessageId on every retry: the server stores it once.
    void deliver({ clientMessageId: crypto.randomUUID(), body, failed: null });
    composer.current?.focus();
  }
  // Where each member has read up to: the room's positions when it opened, moved by receipts since.
  const positions = new Map(readPositions.map((p) => [p.user.id, p]));
  for (const r of props.receipts)
    if (r.lastReadSeq >= (positions.get(r.user.id)?.lastReadSeq ?? 0)) positions.set(r.user.id, r);
  const seenBy = [...positions.values()].filter((p) => p.user.id !== me.id && newest > 0 && p.lastReadSeq >= newest);

  return (
    <main className="room" aria-label="Room">
      {(error || notice) && <p role="alert">{notice ?? explain(error as Error)}</p>}
      {hasOlder && messages.length > 0 && (
        <button type="button" onClick={() => void loadOlder()}>
          Load older messages
        </button>
      )}
      <ol className="messages" aria-label="Messages">
        {messages.map((message) => (
          <MessageItem key={message.seq} message={message} mine={message.sender.id === me.id} onNotice={setNotice} />
        ))}
        {pending.map((item) => (
          <li key={item.clientMessageId} className="pending" data-pending={item.failed ? "failed" : "sending"}>
            <span className="body">{item.body}</span>{" "}
            {item.failed ? (
              <>
                <em>{item.failed}</em>{" "}
                <button type="button" onClick={() => void deliver(item)}>
                  Retry
                </button>
              </>
            ) : (
              <em>sending…</em>
            )}
          </li>
        ))}
      </ol>
      {seenBy.length > 0 && <p className="receipts">Seen by {seenBy.map((r) => r.user.displayName).join(", ")}</p>}
      <p className="typing" aria-live="polite">
        {typing.length > 0 ? `${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…` : " "}
      </p>
      <label className="composer">
        Message
        <textarea
          ref={composer}
          autoFocus
          rows={2}
          onKeyDown={onKeyDown}
          onChange={(e) => e.target.value && void setTyping({ roomId, typing: true })}
          placeholder="Write a message, Enter to send"
        />
      </label>
    </main>
  );
}

function MessageItem({
  message,
  mine,
  onNotice,
}: {
  message: Message;
  mine: boolean;
  onNotice: (n: string | null) => void;
}) {
  const [, edit] = useMutation(EditMessage);
  const [, remove] = useMutation(DeleteMessage);
  const [, react] = useMutation(ReactTo);
  const report = (result: { error?: Parameters<typeof explain>[0] }) => onNotice(explain(result.error));
  if (message.deletedAt)
    return (
      <li className="deleted" data-seq={message.seq}>
        <em>{message.sender.displayName} deleted a message</em>
      </li>
    );
  return (
    <li data-seq={message.seq}>
      <strong>{message.sender.displayName}</strong> <span className="body">{message.body}</span>
      {message.editedAt && <small> (edited)</small>}{" "}
      {message.reactions.map((r) => (
        <span key={r.emoji} className={r.reactedByMe ? "reaction mine" : "reaction"}>
          {r.emoji} {r.count}
        </span>
      ))}
      <span className="actions">
        <button
          type="button"
          aria-label="React with thumbs up"
          onClick={async () => report(await react({ messageId: message.id, emoji: "👍" }))}
        >
          👍
        </button>
        {mine && (
          <>
            <button
              type="button"
              onClick={async () => {
                const body = window.prompt("Edit your message", message.body);
                if (body) report(await edit({ messageId: message.id, body }));
              }}
            >
              Edit
            </button>
            <button type="button" onClick={async () => report(await remove({ messageId: message.id }))}>
              Delete
            </button>
          </>
        )}
      </span>
    </li>
  );
}

/** Who is typing in the room now (the server lapses a start after 6 s without a repeat). */
function useTypingNames(roomId: string, meId: string): string[] {
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [result] = useSubscription({ query: Typing, variables: { roomId } });
  const event = result.data?.typing;
  useEffect(() => {
    if (!event || event.user.id === meId) return;
    setNames((current) => {
      const next = new Map(current);
      if (event.typing) next.set(event.user.id, event.user.displayName);
      else next.delete(event.user.id);
      return next;
    });
  }, [event, meId]);
  return [...names.values()];
}
