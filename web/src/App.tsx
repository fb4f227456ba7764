import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Provider, useMutation, useQuery } from "urql";
import { Auth } from "./Auth";
import { explain } from "./errors";
import { connect, getToken, setToken, trustedPayload, type Connection } from "./client";
import { LogOut, Me, MyEvents } from "./operations";
import { RoomView } from "./RoomView";
import { Sidebar, type FeedEvent, type Receipt } from "./Sidebar";

/** Signed out: the sign-in form. Signed in: one connection (HTTP + WebSocket) for the session. */
export function App() {
  const [token, setSessionToken] = useState(getToken);
  const connection = useMemo(() => (token ? connect(token) : null), [token]);
  useEffect(() => () => connection?.dispose(), [connection]);
  const signIn = useCallback((next: string | null) => {
    setToken(next);
    setSessionToken(next);
  }, []);
  if (!connection) return <Auth onSignedIn={signIn} />;
  return (
    <Provider value={connection.urql}>
      <Chat connection={connection} onSignedOut={() => signIn(null)} />
    </Provider>
  );
}

function Chat({ connection, onSignedOut }: { connection: Connection; onSignedOut: () => void }) {
  const [me, reexecuteMe] = useQuery({ query: Me });
  // Me carries the friend list and their presence.
  const rereadMe = useCallback(() => reexecuteMe(), [reexecuteMe]);
  const [, logOut] = useMutation(LogOut);
  const [openRoom, setOpenRoom] = useState<string | null>(null);
  const [receipts, setReceipts] = useState<Receipt[]>([]);
  // One feed for the room list, friends and read receipts (the server's myEvents). Each
  // event is handed on as it comes: React state would keep only the last of a quick burst.
  const feed = useFeed(connection);
  useEffect(
    () =>
      feed.listen((event) => {
        if (event.__typename === "ReadPositionEvent")
          setReceipts((all) => [
            ...all.filter((r) => !(r.roomId === event.roomId && r.user.id === event.user.id)),
            event,
          ]);
      }),
    [feed],
  );
  // Presence may have changed while the socket was down.
  useEffect(() => connection.onReconnect(rereadMe), [connection, rereadMe]);
  const expired = me.error?.graphQLErrors[0]?.extensions?.code === "UNAUTHENTICATED";
  useEffect(() => {
    if (expired) onSignedOut();
  }, [expired, onSignedOut]);
  // A re-read that fails (the network dropped) keeps the screen as it was.
  const lastUser = useRef(me.data?.me);
  if (me.data?.me) lastUser.current = me.data.me;
  const user = lastUser.current;
  if (!user)
    return (
      <p className="status" role={me.error ? "alert" : undefined}>
        {me.error ? explain(me.error) : "Loading…"}{" "}
        {me.error && (
          <button type="button" onClick={rereadMe}>
            Try again
          </button>
        )}
      </p>
    );
  return (
    <div className="chat">
      <Sidebar
        me={user}
        feed={feed}
        connection={connection}
        openRoom={openRoom}
        onOpen={setOpenRoom}
        onFriendsChanged={rereadMe}
      >
        <button type="button" onClick={() => void logOut({}).finally(onSignedOut)}>
          Log out {user.displayName}
        </button>
      </Sidebar>
      {openRoom ? (
        <RoomView
          key={openRoom}
          roomId={openRoom}
          me={user}
          connection={connection}
          receipts={receipts.filter((r) => r.roomId === openRoom)}
          feedCursor={feed.cursor}
        />
      ) : (
        <main className="empty">Pick a room, or open a chat with a friend.</main>
      )}
    </div>
  );
}

export interface Feed {
  /** Calls `listener` with every myEvents event from now on; returns the unsubscribe. */
  listen(listener: (event: FeedEvent) => void): () => void;
  /** Calls `listener` when the feed starts over without a cursor (its cursor expired): re-read then. */
  onRestart(listener: () => void): () => void;
  /** The cursor of the last event handled (null before the first): where streams resume from. */
  cursor(): string | null;
}

/**
 * The session's myEvents subscription, shared by whoever listens. After a drop it resumes
 * with the last event's cursor, so the server replays what was missed (edits, deletions,
 * rooms, receipts, ...) before going on live; only an expired cursor means re-reading.
 */
function useFeed(connection: Connection): Feed {
  const feed = useMemo(() => {
    const listeners = new Set<(event: FeedEvent) => void>();
    const restartListeners = new Set<() => void>();
    let last: string | null = null;
    return {
      listeners,
      restartListeners,
      handled(cursor: string | null) {
        last = cursor;
      },
      cursor: () => last,
      listen(listener: (event: FeedEvent) => void) {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
      onRestart(listener: () => void) {
        restartListeners.add(listener);
        return () => void restartListeners.delete(listener);
      },
    };
  }, []);
  useEffect(() => {
    const start = (): (() => void) =>
      connection.ws.subscribe(trustedPayload(MyEvents, { after: feed.cursor() }), {
        next: ({ data, errors }) => {
          if (errors?.[0]?.extensions?.code === "CURSOR_EXPIRED") {
            feed.handled(null);
            feed.restartListeners.forEach((listener) => listener());
            return void setTimeout(() => subscription.restart());
          }
          const event = (data as { myEvents?: FeedEvent } | null)?.myEvents;
          if (!event) return;
          feed.handled(event.cursor);
          feed.listeners.forEach((listener) => listener(event));
        },
        error: () => {},
        complete: () => {},
      });
    const subscription = connection.resumable(start);
    return subscription.stop;
  }, [connection, feed]);
  return feed;
}
