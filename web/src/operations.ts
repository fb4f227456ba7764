/**
 * Every operation the client sends, as GraphQL documents: GraphQL Code Generator's client
 * preset (`npm run codegen`) types them from schema/, into src/gql.
 */
import { graphql } from "./gql";

export const SignUp = graphql(`
  mutation SignUp($username: String!, $password: String!, $displayName: String!) {
    signUp(username: $username, password: $password, displayName: $displayName) {
      token
      user {
        id
        username
        displayName
      }
    }
  }
`);

export const LogIn = graphql(`
  mutation LogIn($username: String!, $password: String!) {
    logIn(username: $username, password: $password) {
      token
      user {
        id
        username
        displayName
      }
    }
  }
`);

export const LogOut = graphql(`
  mutation LogOut {
    logOut
  }
`);

export const Me = graphql(`
  query Me {
    me {
      id
      username
      displayName
      friends {
        id
        username
        displayName
        online
      }
    }
  }
`);

export const AddFriend = graphql(`
  query UserByUsername($username: String!) {
    userByUsername(username: $username) {
      id
      username
      displayName
    }
  }
`);

export const AddFriends = graphql(`
  mutation AddFriends($ids: [ID!]!) {
    addFriends(userIds: $ids) {
      id
    }
  }
`);

export const RoomFields = graphql(`
  fragment RoomFields on Room {
    id
    name
    isDirect
    unreadCount
    mentionCount
    members {
      id
      displayName
    }
    lastMessage {
      id
      seq
      body
      createdAt
      sender {
        displayName
      }
    }
  }
`);

export const Rooms = graphql(`
  query Rooms {
    rooms(first: 100) {
      ...RoomFields
    }
  }
`);

export const CreateRoom = graphql(`
  mutation CreateRoom($name: String!, $memberIds: [ID!]!) {
    createRoom(name: $name, memberIds: $memberIds) {
      ...RoomFields
    }
  }
`);

export const DirectRoom = graphql(`
  mutation DirectRoom($userId: ID!) {
    directRoom(userId: $userId) {
      ...RoomFields
    }
  }
`);

export const MessageFields = graphql(`
  fragment MessageFields on Message {
    id
    seq
    body
    clientMessageId
    createdAt
    editedAt
    deletedAt
    parentId
    sender {
      id
      displayName
    }
    reactions {
      emoji
      count
      reactedByMe
    }
    mentions {
      id
      username
    }
    quotedMessage {
      id
      body
      sender {
        displayName
      }
    }
    quotedMessageDeleted
  }
`);

/** A thread's summary: read with history and on each change, not with every new message. */
export const ThreadFields = graphql(`
  fragment ThreadFields on Message {
    replyCount
    lastReplyAt
    unreadReplyCount
    replyParticipants {
      id
      displayName
    }
  }
`);

export const History = graphql(`
  query History($roomId: ID!, $beforeSeq: Int) {
    room(id: $roomId) {
      id
      lastReadSeq
      readPositions {
        user {
          id
          displayName
        }
        lastReadSeq
      }
      messages(last: 30, beforeSeq: $beforeSeq) {
        ...MessageFields
        ...ThreadFields
      }
    }
  }
`);

export const Replies = graphql(`
  query Replies($parentId: ID!) {
    replies(parentId: $parentId, last: 100) {
      ...MessageFields
    }
  }
`);

export const MarkThreadRead = graphql(`
  mutation MarkThreadRead($parentId: ID!, $seq: Int!) {
    markThreadRead(parentId: $parentId, seq: $seq) {
      id
      ...ThreadFields
    }
  }
`);

export const PinMessage = graphql(`
  mutation PinMessage($messageId: ID!) {
    pinMessage(messageId: $messageId) {
      id
    }
  }
`);

export const UnpinMessage = graphql(`
  mutation UnpinMessage($messageId: ID!) {
    unpinMessage(messageId: $messageId) {
      id
    }
  }
`);

/** The room view's header: who is in it and online, your level, the pins. */
export const RoomHeader = graphql(`
  query RoomHeader($roomId: ID!) {
    room(id: $roomId) {
      id
      name
      isDirect
      notificationLevel
      members {
        id
        displayName
        online
      }
      pinnedMessages {
        id
        body
        sender {
          displayName
        }
      }
    }
  }
`);

export const SetRoomNotifications = graphql(`
  mutation SetRoomNotifications($roomId: ID!, $level: NotificationLevel!) {
    setRoomNotifications(roomId: $roomId, level: $level) {
      id
      notificationLevel
    }
  }
`);

export const SendMessage = graphql(`
  mutation SendMessage($roomId: ID!, $body: String!, $clientMessageId: String, $parentId: ID, $quotedMessageId: ID) {
    sendMessage(
      roomId: $roomId
      body: $body
      clientMessageId: $clientMessageId
      parentId: $parentId
      quotedMessageId: $quotedMessageId
    ) {
      ...MessageFields
    }
  }
`);

export const EditMessage = graphql(`
  mutation EditMessage($messageId: ID!, $body: String!) {
    editMessage(messageId: $messageId, body: $body) {
      ...MessageFields
    }
  }
`);

export const DeleteMessage = graphql(`
  mutation DeleteMessage($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      ...MessageFields
    }
  }
`);

export const React = graphql(`
  mutation React($messageId: ID!, $emoji: String!) {
    react(messageId: $messageId, emoji: $emoji) {
      ...MessageFields
    }
  }
`);

export const MarkRead = graphql(`
  mutation MarkRead($roomId: ID!, $seq: Int!) {
    markRead(roomId: $roomId, seq: $seq) {
      id
    }
  }
`);

export const SetTyping = graphql(`
  mutation SetTyping($roomId: ID!, $typing: Boolean!) {
    setTyping(roomId: $roomId, typing: $typing)
  }
`);

export const MessageAdded = graphql(`
  subscription MessageAdded($roomId: ID!, $afterSeq: Int) {
    messageAdded(roomId: $roomId, afterSeq: $afterSeq) {
      ...MessageFields
    }
  }
`);

export const MessageUpdated = graphql(`
  subscription MessageUpdated($roomId: ID!, $after: String) {
    messageUpdated(roomId: $roomId, after: $after) {
      ...MessageFields
      ...ThreadFields
    }
  }
`);

export const Typing = graphql(`
  subscription Typing($roomId: ID!) {
    typing(roomId: $roomId) {
      user {
        id
        displayName
      }
      typing
    }
  }
`);

export const MyEvents = graphql(`
  subscription MyEvents($after: String) {
    myEvents(after: $after) {
      __typename
      ... on MessageAddedEvent {
        cursor
        roomId
        unreadCount
        notify
        message {
          id
          seq
          body
          createdAt
          sender {
            displayName
          }
        }
      }
      ... on RoomRenamedEvent {
        cursor
        roomId
        name
      }
      ... on MemberRoleEvent {
        cursor
        roomId
      }
      ... on MessageUpdatedEvent {
        cursor
        roomId
        change
        message {
          id
          body
          deletedAt
        }
      }
      ... on MentionedEvent {
        cursor
        roomId
        notify
        message {
          id
        }
      }
      ... on RoomAddedEvent {
        cursor
        roomId
      }
      ... on MemberLeftEvent {
        cursor
        roomId
        user {
          id
        }
      }
      ... on ReadPositionEvent {
        cursor
        roomId
        user {
          id
          displayName
        }
        lastReadSeq
      }
      ... on PresenceEvent {
        cursor
        user {
          id
        }
        online
      }
    }
  }
`);
