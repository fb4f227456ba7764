import { useEffect, useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { Composer } from "./Composer";
import type { Connection } from "./client";
import { explain } from "./errors";
import type { MeQuery, NotificationLevel, RoomHeaderQuery } from "./gql/graphql";
import { dayOf, MessageItem } from "./MessageItem";
import { MarkRead, RoomHeader, SendMessage, SetRoomNotifications, SetTyping, Typing } from "./operations";
import type { Receipt } from "./Sidebar";
import { ThreadPanel } from "./ThreadPanel";
import { useRoomMessages, type Message } from "./useRoomMessages";

interface Pending {
  clientMessageId: string;
  body: string;
  quotedMessageId: string | null;
  failed: string | null;
}

/**
 * One room: a header (who is in it, your notification level, pins), the timeline by day with
 * history paging upwards, live messages, pending sends, typing, receipts, quotes, and a
 * thread panel beside it.
 */
export function RoomView(props: {
  roomId: string;
  me: NonNullable<MeQuery["me"]>;
  connection: Connection;
  receipts: Receipt[];
  /** The feed's last cursor: the room's changes resume from it. */
  feedCursor: () => string | null;
}) {
  const { roomId, me } = props;
  const { messages, hasOlder, loadOlder, error, add, readPositions, changes } = useRoomMessages(
    props.connection,
    roomId,
    props.feedCursor,
  );
  const [header, rereadHeader] = useQuery({ query: RoomHeader, variables: { roomId } });
  // Someone may have pinned or unpinned: the pins are the header's.
  useEffect(() => {
    if (changes > 0) rereadHeader({ requestPolicy: "network-only" });
  }, [changes, rereadHeader]);
  const [pending, setPending] = useState<Pending[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [quoting, setQuoting] = useState<Message | null>(null);
  const [threadOf, setThreadOf] = useState<string | null>(null);
  const [, send] = useMutation(SendMessage);
  const [, markRead] = useMutation(MarkRead);
  const [, setTyping] = useMutation(SetTyping);
  const typing = useTypingNames(roomId, me.id);
  const timeline = messages.filter((m) => !m.parentId);
  const newest = messages.at(-1)?.seq ?? 0;
  const pinnedIds = new Set(header.data?.room?.pinnedMessages.map((m) => m.id));

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
    const { clientMessageId, body, quotedMessageId } = item;
    const result = await send({ roomId, body, clientMessageId, quotedMessageId });
    if (result.data) add([result.data.sendMessage]);
    else
      setPending((all) =>
        all.map((p) => (p.clientMessageId === clientMessageId ? { ...p, failed: explain(result.error) } : p)),
      );
  }
  const actions = {
    onNotice: (n: string | null) => {
      setNotice(n);
      rereadHeader({ requestPolicy: "network-only" });
    },
    onThread: (m: Message) => setThreadOf(m.id),
    onQuote: setQuoting,
  };
  const seenBy = useSeenBy(readPositions, props.receipts, me.id, newest);
  const thread = messages.find((m) => m.id === threadOf);

  return (
    <div className={thread ? "room-area with-thread" : "room-area"}>
      <main className="room" aria-label="Room">
        <Header data={header.data?.room} meId={me.id} roomId={roomId} onChanged={actions.onNotice} />
        {(error || notice) && <p role="alert">{notice ?? explain(error as Error)}</p>}
        <ol className="messages" aria-label="Messages">
          {hasOlder && timeline.length > 0 && (
            <li className="older">
              <button type="button" className="link" onClick={() => void loadOlder()}>
                Load older messages
              </button>
            </li>
          )}
          {timeline.map((message, i) => (
            <DayAndMessage
              key={message.seq}
              message={message}
              previous={timeline[i - 1]}
              meId={me.id}
              actions={{ ...actions, pinned: pinnedIds.has(message.id) }}
            />
          ))}
          {pending.map((item) => (
            <li
              key={item.clientMessageId}
              className="message mine pending"
              data-pending={item.failed ? "failed" : "sending"}
            >
              <p className="body">{item.body}</p>
              {item.failed ? (
                <p>
                  <em>{item.failed}</em>{" "}
                  <button type="button" onClick={() => void deliver(item)}>
                    Retry
                  </button>
                </p>
              ) : (
                <small>sending…</small>
              )}
            </li>
          ))}
        </ol>
        <p className="receipts">{seenBy.length > 0 ? `Seen by ${seenBy.join(", ")}` : " "}</p>
        <p className="typing" aria-live="polite">
          {typing.length > 0 ? `${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…` : " "}
        </p>
        <Composer
          label="Message"
          placeholder="Write a message, Enter to send"
          autoFocus
          quoting={quoting}
          onCancelQuote={() => setQuoting(null)}
          onTyping={(t) => void setTyping({ roomId, typing: t })}
          onSend={(body) => {
            // The same clientMessageId on every retry: the server stores it once.
            void deliver({
              clientMessageId: crypto.randomUUID(),
              body,
              quotedMessageId: quoting?.id ?? null,
              failed: null,
            });
            setQuoting(null);
          }}
        />
      </main>
      {thread && (
        <ThreadPanel
          key={thread.id}
          roomId={roomId}
          parent={thread}
          meId={me.id}
          live={messages}
          add={add}
          onClose={() => setThreadOf(null)}
        />
      )}
    </div>
  );
}

function DayAndMessage(props: {
  message: Message;
  previous?: Message;
  meId: string;
  actions: Parameters<typeof MessageItem>[0]["actions"];
}) {
  const day = dayOf(props.message.createdAt);
  const newDay = !props.previous || dayOf(props.previous.createdAt) !== day;
  return (
    <>
      {newDay && (
        <li className="separator" role="separator">
          {day}
        </li>
      )}
      <MessageItem message={props.message} meId={props.meId} actions={props.actions} />
    </>
  );
}

type HeaderRoom = RoomHeaderQuery["room"];

/** Which room, who is in it and online, your notification level, and its pinned messages. */
function Header(props: {
  data: HeaderRoom | undefined;
  meId: string;
  roomId: string;
  onChanged: (n: string | null) => void;
}) {
  const [, setLevel] = useMutation(SetRoomNotifications);
  const [showPins, setShowPins] = useState(false);
  const room = props.data;
  if (!room) return <header className="room-header" />;
  const others = room.members.filter((m) => m.id !== props.meId);
  const title = room.isDirect ? others.map((m) => m.displayName).join(", ") || room.name : room.name;
  const online = others.filter((m) => m.online).length;
  return (
    <header className="room-header">
      <div>
        <h1>{title}</h1>
        <p className="members" aria-label="Members">
          {room.members.map((m) => (
            <span key={m.id} className="member">
              <span className={m.online ? "online" : "offline"} aria-label={m.online ? "online" : "offline"} />
              {m.id === props.meId ? "You" : m.displayName}
            </span>
          ))}
          <small>
            {" "}
            · {others.length + 1} members, {online} online
          </small>
        </p>
      </div>
      <div className="header-tools">
        <button type="button" aria-expanded={showPins} onClick={() => setShowPins(!showPins)}>
          Pinned ({room.pinnedMessages.length})
        </button>
        <label>
          Notify me
          <select
            value={room.notificationLevel}
            onChange={async (e) => {
              const result = await setLevel({ roomId: props.roomId, level: e.target.value as NotificationLevel });
              props.onChanged(explain(result.error));
            }}
          >
            <option value="ALL">of every message</option>
            <option value="MENTIONS">of mentions only</option>
            <option value="NONE">of nothing</option>
          </select>
        </label>
      </div>
      {showPins && (
        <ul className="pins" aria-label="Pinned messages">
          {room.pinnedMessages.length === 0 && <li>Nothing pinned yet.</li>}
          {room.pinnedMessages.map((m) => (
            <li key={m.id}>
              <strong>{m.sender.displayName}</strong> {m.body}
            </li>
          ))}
        </ul>
      )}
    </header>
  );
}

/** Who (besides you) has read up to the newest message: the room's positions, moved by receipts since. */
function useSeenBy(
  readPositions: Receipt[] | { user: Receipt["user"]; lastReadSeq: number }[],
  receipts: Receipt[],
  meId: string,
  newest: number,
) {
  const positions = new Map(readPositions.map((p) => [p.user.id, p]));
  for (const r of receipts)
    if (r.lastReadSeq >= (positions.get(r.user.id)?.lastReadSeq ?? 0)) positions.set(r.user.id, r);
  return [...positions.values()]
    .filter((p) => p.user.id !== meId && newest > 0 && p.lastReadSeq >= newest)
    .map((p) => p.user.displayName);
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
