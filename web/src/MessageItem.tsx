import { useMutation } from "urql";
import { explain } from "./errors";
import { DeleteMessage, EditMessage, PinMessage, React as ReactTo, UnpinMessage } from "./operations";
import type { Message } from "./useRoomMessages";

export const timeOf = (iso: string) =>
  new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
export const dayOf = (iso: string) =>
  new Date(iso).toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long" });

/** What a message offers beyond itself: open its thread, quote it, pin it. Absent where it makes no sense. */
export interface MessageActions {
  onThread?: (message: Message) => void;
  onQuote?: (message: Message) => void;
  pinned?: boolean;
  onNotice: (notice: string | null) => void;
}

/** One message as a bubble: yours on the right; its quote, mentions, reactions, thread summary and actions. */
export function MessageItem({ message, meId, actions }: { message: Message; meId: string; actions: MessageActions }) {
  const [, edit] = useMutation(EditMessage);
  const [, remove] = useMutation(DeleteMessage);
  const [, react] = useMutation(ReactTo);
  const [, pin] = useMutation(PinMessage);
  const [, unpin] = useMutation(UnpinMessage);
  const report = (result: { error?: Parameters<typeof explain>[0] }) => actions.onNotice(explain(result.error));
  const mine = message.sender.id === meId;
  const mentionsMe = message.mentions.some((m) => m.id === meId);
  const classes = ["message", mine ? "mine" : "theirs", mentionsMe ? "mentions-me" : ""].filter(Boolean).join(" ");
  if (message.deletedAt)
    return (
      <li className={`${classes} deleted`} data-seq={message.seq}>
        <em>{message.sender.displayName} deleted a message</em>
      </li>
    );
  return (
    <li className={classes} data-seq={message.seq}>
      <div className="meta">
        <strong>{mine ? "You" : message.sender.displayName}</strong>
        <time dateTime={message.createdAt}>{timeOf(message.createdAt)}</time>
        {message.editedAt && <small>edited</small>}
        {actions.pinned && <small className="pin-mark">pinned</small>}
      </div>
      <Quote message={message} />
      <p className="body">
        <Highlighted body={message.body} names={message.mentions.map((m) => m.username)} />
      </p>
      {message.reactions.length > 0 && (
        <div className="reactions">
          {message.reactions.map((r) => (
            <span key={r.emoji} className={r.reactedByMe ? "reaction reacted" : "reaction"}>
              {r.emoji} {r.count}
            </span>
          ))}
        </div>
      )}
      {actions.onThread && (message.replyCount ?? 0) > 0 && (
        <button type="button" className="thread-summary" onClick={() => actions.onThread!(message)}>
          {message.replyCount} {message.replyCount === 1 ? "reply" : "replies"}
          {message.lastReplyAt && <small> · last {timeOf(message.lastReplyAt)}</small>}
          {(message.unreadReplyCount ?? 0) > 0 && <span className="badge">{message.unreadReplyCount} new</span>}
        </button>
      )}
      <div className="actions" role="toolbar" aria-label="Message actions">
        <button
          type="button"
          title="React with thumbs up"
          aria-label="React with thumbs up"
          onClick={async () => report(await react({ messageId: message.id, emoji: "👍" }))}
        >
          👍
        </button>
        {actions.onThread && (
          <button type="button" onClick={() => actions.onThread!(message)}>
            Reply in thread
          </button>
        )}
        {actions.onQuote && (
          <button type="button" onClick={() => actions.onQuote!(message)}>
            Quote
          </button>
        )}
        <button
          type="button"
          onClick={async () => report(await (actions.pinned ? unpin : pin)({ messageId: message.id }))}
        >
          {actions.pinned ? "Unpin" : "Pin"}
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
            <button
              type="button"
              className="danger"
              onClick={async () => report(await remove({ messageId: message.id }))}
            >
              Delete
            </button>
          </>
        )}
      </div>
    </li>
  );
}

function Quote({ message }: { message: Message }) {
  if (message.quotedMessageDeleted) return <blockquote className="quote gone">A deleted message</blockquote>;
  if (!message.quotedMessage) return null;
  return (
    <blockquote className="quote">
      <strong>{message.quotedMessage.sender.displayName}</strong> {message.quotedMessage.body}
    </blockquote>
  );
}

/** The body with the server-found mentions marked (only names the server resolved are highlighted). */
function Highlighted({ body, names }: { body: string; names: string[] }) {
  if (names.length === 0) return <>{body}</>;
  const known = new Set(names);
  return (
    <>
      {body.split(/(@[A-Za-z0-9_]{3,32})/).map((part, i) =>
        part.startsWith("@") && known.has(part.slice(1).toLowerCase()) ? (
          <mark key={i} className="mention">
            {part}
          </mark>
        ) : (
          part
        ),
      )}
    </>
  );
}
