import { useEffect, useState } from "react";
import { useClient, useMutation } from "urql";
import { Composer } from "./Composer";
import { explain } from "./errors";
import { MessageItem } from "./MessageItem";
import { MarkThreadRead, Replies, SendMessage } from "./operations";
import type { Message } from "./useRoomMessages";

/**
 * A thread beside the room: its parent, its replies (read once, then live from the room's
 * stream, which carries replies too), and a composer that replies in it. Reading it moves your
 * thread read position.
 */
export function ThreadPanel(props: {
  roomId: string;
  parent: Message;
  meId: string;
  /** The room's messages, live: replies to this parent among them. */
  live: Message[];
  add: (messages: Message[]) => void;
  onClose: () => void;
}) {
  const { parent, roomId } = props;
  const client = useClient();
  const [notice, setNotice] = useState<string | null>(null);
  const [, send] = useMutation(SendMessage);
  const [, markThreadRead] = useMutation(MarkThreadRead);
  useEffect(() => {
    void client
      .query(Replies, { parentId: parent.id }, { requestPolicy: "network-only" })
      .toPromise()
      .then((result) => (result.error ? setNotice(explain(result.error)) : props.add(result.data?.replies ?? [])));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, parent.id]);
  const replies = props.live.filter((m) => m.parentId === parent.id);
  const newest = replies.at(-1)?.seq ?? 0;
  useEffect(() => {
    if (newest > 0)
      void markThreadRead({ parentId: parent.id, seq: newest }).then(
        (r) => r.data && props.add([{ ...parent, ...r.data.markThreadRead }]),
      );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [newest, parent.id]);

  async function reply(body: string) {
    const result = await send({ roomId, body, clientMessageId: crypto.randomUUID(), parentId: parent.id });
    if (result.data) props.add([result.data.sendMessage]);
    setNotice(explain(result.error));
  }
  return (
    <aside className="thread" aria-label="Thread">
      <header>
        <h2>Thread</h2>
        <button type="button" className="icon" aria-label="Close thread" onClick={props.onClose}>
          ✕
        </button>
      </header>
      {notice && <p role="alert">{notice}</p>}
      <ol className="messages" aria-label="Thread messages">
        <MessageItem message={parent} meId={props.meId} actions={{ onNotice: setNotice }} />
        <li className="separator" role="separator">
          {replies.length} {replies.length === 1 ? "reply" : "replies"}
        </li>
        {replies.map((m) => (
          <MessageItem key={m.seq} message={m} meId={props.meId} actions={{ onNotice: setNotice }} />
        ))}
      </ol>
      <Composer label="Reply" placeholder="Reply in thread, Enter to send" onSend={(b) => void reply(b)} autoFocus />
    </aside>
  );
}
