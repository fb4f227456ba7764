import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useClient, useMutation, useQuery } from "urql";
import type { Feed } from "./App";
import type { Connection } from "./client";
import { explain } from "./errors";
import type { MeQuery, MyEventsSubscription, RoomFieldsFragment } from "./gql/graphql";
import { AddFriend, AddFriends, CreateRoom, DirectRoom, Rooms } from "./operations";

type Me = NonNullable<MeQuery["me"]>;
export type FeedEvent = MyEventsSubscription["myEvents"];
export type Receipt = Extract<FeedEvent, { __typename: "ReadPositionEvent" }>;

const byActivity = (a: RoomFieldsFragment, b: RoomFieldsFragment) =>
  (b.lastMessage?.createdAt ?? "").localeCompare(a.lastMessage?.createdAt ?? "");

/** Friends (add by username, open a direct chat) and rooms by activity, kept live by the feed. */
export function Sidebar(props: {
  me: Me;
  feed: Feed;
  connection: Connection;
  openRoom: string | null;
  onOpen: (roomId: string) => void;
  /** Re-reads the friend list (a friend added, someone's presence changed). */
  onFriendsChanged: () => void;
  children: ReactNode;
}) {
  const { me, feed, openRoom, onOpen, onFriendsChanged } = props;
  const [roomsResult, refetchRooms] = useQuery({ query: Rooms });
  const [rooms, setRooms] = useState<RoomFieldsFragment[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (roomsResult.data) setRooms(roomsResult.data.rooms);
  }, [roomsResult.data]);
  // The feed replays what happened while the socket was down; only when its cursor expired
  // does it start over, and the list is read again.
  useEffect(() => feed.onRestart(() => refetchRooms()), [feed, refetchRooms]);

  const openRoomRef = useRef(openRoom);
  openRoomRef.current = openRoom;
  useEffect(
    () =>
      feed.listen((event) => {
        if (event.__typename === "MessageAddedEvent") {
          const open = event.roomId === openRoomRef.current;
          setRooms((all) =>
            all
              .map((room) =>
                room.id !== event.roomId
                  ? room
                  : { ...room, lastMessage: { ...event.message }, unreadCount: open ? 0 : event.unreadCount },
              )
              .sort(byActivity),
          );
        } else if (event.__typename === "MentionedEvent" && event.roomId !== openRoomRef.current) {
          setRooms((all) =>
            all.map((room) => (room.id === event.roomId ? { ...room, mentionCount: room.mentionCount + 1 } : room)),
          );
        } else if (event.__typename === "RoomRenamedEvent") {
          setRooms((all) => all.map((room) => (room.id === event.roomId ? { ...room, name: event.name } : room)));
        } else if (event.__typename === "MessageUpdatedEvent") {
          setRooms((all) =>
            all.map((room) =>
              room.lastMessage?.id === event.message.id
                ? { ...room, lastMessage: { ...room.lastMessage, ...event.message } }
                : room,
            ),
          );
        } else if (event.__typename === "RoomAddedEvent" || event.__typename === "MemberLeftEvent") {
          refetchRooms();
        } else if (event.__typename === "PresenceEvent") {
          onFriendsChanged();
        }
      }),
    [feed, refetchRooms, onFriendsChanged],
  );

  const open = (roomId: string) => {
    setRooms((all) => all.map((room) => (room.id === roomId ? { ...room, unreadCount: 0, mentionCount: 0 } : room)));
    onOpen(roomId);
  };
  const added = (room: RoomFieldsFragment | undefined, problem: Parameters<typeof explain>[0]) => {
    setError(explain(problem));
    if (!room) return;
    setRooms((all) => [room, ...all.filter((r) => r.id !== room.id)]);
    open(room.id);
  };
  return (
    <nav className="sidebar" aria-label="Friends and rooms">
      {props.children}
      {error && <p role="alert">{error}</p>}
      <Friends me={me} onError={setError} onFriendAdded={onFriendsChanged} onDirect={added} />
      <NewRoom friends={me.friends} onCreated={added} />
      <h2>Rooms</h2>
      <ul className="rooms">
        {rooms.map((room) => (
          <li key={room.id}>
            <button type="button" aria-current={room.id === openRoom} onClick={() => open(room.id)}>
              <strong>{roomTitle(room, me.id)}</strong>
              {room.mentionCount > 0 && (
                <span className="badge mention" aria-label={`${room.mentionCount} mentions`}>
                  @{room.mentionCount}
                </span>
              )}
              {room.unreadCount > 0 && (
                <span className="badge" aria-label={`${room.unreadCount} unread`}>
                  {room.unreadCount}
                </span>
              )}
              <small>
                {room.lastMessage
                  ? `${room.lastMessage.sender.displayName}: ${room.lastMessage.body}`
                  : "No messages yet"}
              </small>
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}

const roomTitle = (room: RoomFieldsFragment, meId: string) =>
  room.isDirect
    ? room.members
        .filter((m) => m.id !== meId)
        .map((m) => m.displayName)
        .join(", ") || room.name
    : room.name;

function Friends(props: {
  me: Me;
  onError: (message: string | null) => void;
  onFriendAdded: () => void;
  onDirect: (room: RoomFieldsFragment | undefined, error: Parameters<typeof explain>[0]) => void;
}) {
  const client = useClient();
  const [, addFriends] = useMutation(AddFriends);
  const [, directRoom] = useMutation(DirectRoom);
  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const username = String(new FormData(form).get("friend")).trim();
    const found = await client.query(AddFriend, { username }).toPromise();
    const user = found.data?.userByUsername;
    if (!user) return props.onError(found.error ? explain(found.error) : `Nobody is called ${username}.`);
    const result = await addFriends({ ids: [user.id] });
    props.onError(explain(result.error));
    if (!result.error) {
      form.reset();
      props.onFriendAdded();
    }
  }
  return (
    <section aria-label="Friends">
      <h2>Friends</h2>
      <form onSubmit={add}>
        <label>
          Add a friend by username <input name="friend" required />
        </label>
        <button type="submit">Add</button>
      </form>
      <ul className="friends">
        {props.me.friends.map((friend) => (
          <li key={friend.id}>
            <span className={friend.online ? "online" : "offline"} aria-label={friend.online ? "online" : "offline"} />
            {friend.displayName}{" "}
            <button
              type="button"
              onClick={async () => {
                const result = await directRoom({ userId: friend.id });
                props.onDirect(result.data?.directRoom, result.error);
              }}
            >
              Chat with {friend.displayName}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function NewRoom(props: {
  friends: Me["friends"];
  onCreated: (room: RoomFieldsFragment | undefined, error: Parameters<typeof explain>[0]) => void;
}) {
  const [, createRoom] = useMutation(CreateRoom);
  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const result = await createRoom({ name: String(data.get("name")), memberIds: data.getAll("member").map(String) });
    props.onCreated(result.data?.createRoom, result.error);
    if (!result.error) form.reset();
  }
  return (
    <form className="new-room" onSubmit={create} aria-label="New room">
      <label>
        New room name <input name="name" required />
      </label>
      <fieldset>
        <legend>Members</legend>
        {props.friends.map((friend) => (
          <label key={friend.id}>
            <input type="checkbox" name="member" value={friend.id} /> {friend.displayName}
          </label>
        ))}
      </fieldset>
      <button type="submit">Create room</button>
    </form>
  );
}
