import { useRef, type KeyboardEvent } from "react";
import type { Message } from "./useRoomMessages";

/** A message box: Enter sends, Shift+Enter breaks the line; shows what is being quoted. */
export function Composer(props: {
  label: string;
  placeholder: string;
  quoting?: Message | null;
  onCancelQuote?: () => void;
  onSend: (body: string) => void;
  onTyping?: (typing: boolean) => void;
  autoFocus?: boolean;
}) {
  const box = useRef<HTMLTextAreaElement>(null);
  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key !== "Enter" || event.shiftKey) return;
    event.preventDefault();
    const body = event.currentTarget.value.trim();
    if (!body) return;
    event.currentTarget.value = "";
    props.onTyping?.(false);
    props.onSend(body);
    box.current?.focus();
  }
  return (
    <div className="composer">
      {props.quoting && (
        <p className="quoting">
          Quoting <strong>{props.quoting.sender.displayName}</strong>: {props.quoting.body}{" "}
          <button type="button" className="link" onClick={props.onCancelQuote}>
            Cancel quote
          </button>
        </p>
      )}
      <label>
        <span className="visually-hidden">{props.label}</span>
        <textarea
          ref={box}
          aria-label={props.label}
          autoFocus={props.autoFocus}
          rows={2}
          onKeyDown={onKeyDown}
          onChange={(e) => e.target.value && props.onTyping?.(true)}
          placeholder={props.placeholder}
        />
      </label>
    </div>
  );
}
