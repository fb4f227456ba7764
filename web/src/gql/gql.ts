/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation SignUp($username: String!, $password: String!, $displayName: String!) {\n    signUp(username: $username, password: $password, displayName: $displayName) {\n      token\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n": typeof types.SignUpDocument,
    "\n  mutation LogIn($username: String!, $password: String!) {\n    logIn(username: $username, password: $password) {\n      token\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n": typeof types.LogInDocument,
    "\n  mutation LogOut {\n    logOut\n  }\n": typeof types.LogOutDocument,
    "\n  query Me {\n    me {\n      id\n      username\n      displayName\n      friends {\n        id\n        username\n        displayName\n        online\n      }\n    }\n  }\n": typeof types.MeDocument,
    "\n  query UserByUsername($username: String!) {\n    userByUsername(username: $username) {\n      id\n      username\n      displayName\n    }\n  }\n": typeof types.UserByUsernameDocument,
    "\n  mutation AddFriends($ids: [ID!]!) {\n    addFriends(userIds: $ids) {\n      id\n    }\n  }\n": typeof types.AddFriendsDocument,
    "\n  fragment RoomFields on Room {\n    id\n    name\n    isDirect\n    unreadCount\n    mentionCount\n    members {\n      id\n      displayName\n    }\n    lastMessage {\n      id\n      seq\n      body\n      createdAt\n      sender {\n        displayName\n      }\n    }\n  }\n": typeof types.RoomFieldsFragmentDoc,
    "\n  query Rooms {\n    rooms(first: 100) {\n      ...RoomFields\n    }\n  }\n": typeof types.RoomsDocument,
    "\n  mutation CreateRoom($name: String!, $memberIds: [ID!]!) {\n    createRoom(name: $name, memberIds: $memberIds) {\n      ...RoomFields\n    }\n  }\n": typeof types.CreateRoomDocument,
    "\n  mutation DirectRoom($userId: ID!) {\n    directRoom(userId: $userId) {\n      ...RoomFields\n    }\n  }\n": typeof types.DirectRoomDocument,
    "\n  fragment MessageFields on Message {\n    id\n    seq\n    body\n    clientMessageId\n    createdAt\n    editedAt\n    deletedAt\n    parentId\n    sender {\n      id\n      displayName\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    mentions {\n      id\n      username\n    }\n    quotedMessage {\n      id\n      body\n      sender {\n        displayName\n      }\n    }\n    quotedMessageDeleted\n  }\n": typeof types.MessageFieldsFragmentDoc,
    "\n  fragment ThreadFields on Message {\n    replyCount\n    lastReplyAt\n    unreadReplyCount\n    replyParticipants {\n      id\n      displayName\n    }\n  }\n": typeof types.ThreadFieldsFragmentDoc,
    "\n  query History($roomId: ID!, $beforeSeq: Int) {\n    room(id: $roomId) {\n      id\n      lastReadSeq\n      readPositions {\n        user {\n          id\n          displayName\n        }\n        lastReadSeq\n      }\n      messages(last: 30, beforeSeq: $beforeSeq) {\n        ...MessageFields\n        ...ThreadFields\n      }\n    }\n  }\n": typeof types.HistoryDocument,
    "\n  query Replies($parentId: ID!) {\n    replies(parentId: $parentId, last: 100) {\n      ...MessageFields\n    }\n  }\n": typeof types.RepliesDocument,
    "\n  mutation MarkThreadRead($parentId: ID!, $seq: Int!) {\n    markThreadRead(parentId: $parentId, seq: $seq) {\n      id\n      ...ThreadFields\n    }\n  }\n": typeof types.MarkThreadReadDocument,
    "\n  mutation PinMessage($messageId: ID!) {\n    pinMessage(messageId: $messageId) {\n      id\n    }\n  }\n": typeof types.PinMessageDocument,
    "\n  mutation UnpinMessage($messageId: ID!) {\n    unpinMessage(messageId: $messageId) {\n      id\n    }\n  }\n": typeof types.UnpinMessageDocument,
    "\n  query RoomHeader($roomId: ID!) {\n    room(id: $roomId) {\n      id\n      name\n      isDirect\n      notificationLevel\n      members {\n        id\n        displayName\n        online\n      }\n      pinnedMessages {\n        id\n        body\n        sender {\n          displayName\n        }\n      }\n    }\n  }\n": typeof types.RoomHeaderDocument,
    "\n  mutation SetRoomNotifications($roomId: ID!, $level: NotificationLevel!) {\n    setRoomNotifications(roomId: $roomId, level: $level) {\n      id\n      notificationLevel\n    }\n  }\n": typeof types.SetRoomNotificationsDocument,
    "\n  mutation SendMessage($roomId: ID!, $body: String!, $clientMessageId: String, $parentId: ID, $quotedMessageId: ID) {\n    sendMessage(\n      roomId: $roomId\n      body: $body\n      clientMessageId: $clientMessageId\n      parentId: $parentId\n      quotedMessageId: $quotedMessageId\n    ) {\n      ...MessageFields\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  mutation EditMessage($messageId: ID!, $body: String!) {\n    editMessage(messageId: $messageId, body: $body) {\n      ...MessageFields\n    }\n  }\n": typeof types.EditMessageDocument,
    "\n  mutation DeleteMessage($messageId: ID!) {\n    deleteMessage(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n": typeof types.DeleteMessageDocument,
    "\n  mutation React($messageId: ID!, $emoji: String!) {\n    react(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n": typeof types.ReactDocument,
    "\n  mutation MarkRead($roomId: ID!, $seq: Int!) {\n    markRead(roomId: $roomId, seq: $seq) {\n      id\n    }\n  }\n": typeof types.MarkReadDocument,
    "\n  mutation SetTyping($roomId: ID!, $typing: Boolean!) {\n    setTyping(roomId: $roomId, typing: $typing)\n  }\n": typeof types.SetTypingDocument,
    "\n  subscription MessageAdded($roomId: ID!, $afterSeq: Int) {\n    messageAdded(roomId: $roomId, afterSeq: $afterSeq) {\n      ...MessageFields\n    }\n  }\n": typeof types.MessageAddedDocument,
    "\n  subscription MessageUpdated($roomId: ID!, $after: String) {\n    messageUpdated(roomId: $roomId, after: $after) {\n      ...MessageFields\n      ...ThreadFields\n    }\n  }\n": typeof types.MessageUpdatedDocument,
    "\n  subscription Typing($roomId: ID!) {\n    typing(roomId: $roomId) {\n      user {\n        id\n        displayName\n      }\n      typing\n    }\n  }\n": typeof types.TypingDocument,
    "\n  subscription MyEvents($after: String) {\n    myEvents(after: $after) {\n      __typename\n      ... on MessageAddedEvent {\n        cursor\n        roomId\n        unreadCount\n        notify\n        message {\n          id\n          seq\n          body\n          createdAt\n          sender {\n            displayName\n          }\n        }\n      }\n      ... on RoomRenamedEvent {\n        cursor\n        roomId\n        name\n      }\n      ... on MemberRoleEvent {\n        cursor\n        roomId\n      }\n      ... on MessageUpdatedEvent {\n        cursor\n        roomId\n        change\n        message {\n          id\n          body\n          deletedAt\n        }\n      }\n      ... on MentionedEvent {\n        cursor\n        roomId\n        notify\n        message {\n          id\n        }\n      }\n      ... on RoomAddedEvent {\n        cursor\n        roomId\n      }\n      ... on MemberLeftEvent {\n        cursor\n        roomId\n        user {\n          id\n        }\n      }\n      ... on ReadPositionEvent {\n        cursor\n        roomId\n        user {\n          id\n          displayName\n        }\n        lastReadSeq\n      }\n      ... on PresenceEvent {\n        cursor\n        user {\n          id\n        }\n        online\n      }\n    }\n  }\n": typeof types.MyEventsDocument,
};
const documents: Documents = {
    "\n  mutation SignUp($username: String!, $password: String!, $displayName: String!) {\n    signUp(username: $username, password: $password, displayName: $displayName) {\n      token\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n": types.SignUpDocument,
    "\n  mutation LogIn($username: String!, $password: String!) {\n    logIn(username: $username, password: $password) {\n      token\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n": types.LogInDocument,
    "\n  mutation LogOut {\n    logOut\n  }\n": types.LogOutDocument,
    "\n  query Me {\n    me {\n      id\n      username\n      displayName\n      friends {\n        id\n        username\n        displayName\n        online\n      }\n    }\n  }\n": types.MeDocument,
    "\n  query UserByUsername($username: String!) {\n    userByUsername(username: $username) {\n      id\n      username\n      displayName\n    }\n  }\n": types.UserByUsernameDocument,
    "\n  mutation AddFriends($ids: [ID!]!) {\n    addFriends(userIds: $ids) {\n      id\n    }\n  }\n": types.AddFriendsDocument,
    "\n  fragment RoomFields on Room {\n    id\n    name\n    isDirect\n    unreadCount\n    mentionCount\n    members {\n      id\n      displayName\n    }\n    lastMessage {\n      id\n      seq\n      body\n      createdAt\n      sender {\n        displayName\n      }\n    }\n  }\n": types.RoomFieldsFragmentDoc,
    "\n  query Rooms {\n    rooms(first: 100) {\n      ...RoomFields\n    }\n  }\n": types.RoomsDocument,
    "\n  mutation CreateRoom($name: String!, $memberIds: [ID!]!) {\n    createRoom(name: $name, memberIds: $memberIds) {\n      ...RoomFields\n    }\n  }\n": types.CreateRoomDocument,
    "\n  mutation DirectRoom($userId: ID!) {\n    directRoom(userId: $userId) {\n      ...RoomFields\n    }\n  }\n": types.DirectRoomDocument,
    "\n  fragment MessageFields on Message {\n    id\n    seq\n    body\n    clientMessageId\n    createdAt\n    editedAt\n    deletedAt\n    parentId\n    sender {\n      id\n      displayName\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    mentions {\n      id\n      username\n    }\n    quotedMessage {\n      id\n      body\n      sender {\n        displayName\n      }\n    }\n    quotedMessageDeleted\n  }\n": types.MessageFieldsFragmentDoc,
    "\n  fragment ThreadFields on Message {\n    replyCount\n    lastReplyAt\n    unreadReplyCount\n    replyParticipants {\n      id\n      displayName\n    }\n  }\n": types.ThreadFieldsFragmentDoc,
    "\n  query History($roomId: ID!, $beforeSeq: Int) {\n    room(id: $roomId) {\n      id\n      lastReadSeq\n      readPositions {\n        user {\n          id\n          displayName\n        }\n        lastReadSeq\n      }\n      messages(last: 30, beforeSeq: $beforeSeq) {\n        ...MessageFields\n        ...ThreadFields\n      }\n    }\n  }\n": types.HistoryDocument,
    "\n  query Replies($parentId: ID!) {\n    replies(parentId: $parentId, last: 100) {\n      ...MessageFields\n    }\n  }\n": types.RepliesDocument,
    "\n  mutation MarkThreadRead($parentId: ID!, $seq: Int!) {\n    markThreadRead(parentId: $parentId, seq: $seq) {\n      id\n      ...ThreadFields\n    }\n  }\n": types.MarkThreadReadDocument,
    "\n  mutation PinMessage($messageId: ID!) {\n    pinMessage(messageId: $messageId) {\n      id\n    }\n  }\n": types.PinMessageDocument,
    "\n  mutation UnpinMessage($messageId: ID!) {\n    unpinMessage(messageId: $messageId) {\n      id\n    }\n  }\n": types.UnpinMessageDocument,
    "\n  query RoomHeader($roomId: ID!) {\n    room(id: $roomId) {\n      id\n      name\n      isDirect\n      notificationLevel\n      members {\n        id\n        displayName\n        online\n      }\n      pinnedMessages {\n        id\n        body\n        sender {\n          displayName\n        }\n      }\n    }\n  }\n": types.RoomHeaderDocument,
    "\n  mutation SetRoomNotifications($roomId: ID!, $level: NotificationLevel!) {\n    setRoomNotifications(roomId: $roomId, level: $level) {\n      id\n      notificationLevel\n    }\n  }\n": types.SetRoomNotificationsDocument,
    "\n  mutation SendMessage($roomId: ID!, $body: String!, $clientMessageId: String, $parentId: ID, $quotedMessageId: ID) {\n    sendMessage(\n      roomId: $roomId\n      body: $body\n      clientMessageId: $clientMessageId\n      parentId: $parentId\n      quotedMessageId: $quotedMessageId\n    ) {\n      ...MessageFields\n    }\n  }\n": types.SendMessageDocument,
    "\n  mutation EditMessage($messageId: ID!, $body: String!) {\n    editMessage(messageId: $messageId, body: $body) {\n      ...MessageFields\n    }\n  }\n": types.EditMessageDocument,
    "\n  mutation DeleteMessage($messageId: ID!) {\n    deleteMessage(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n": types.DeleteMessageDocument,
    "\n  mutation React($messageId: ID!, $emoji: String!) {\n    react(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n": types.ReactDocument,
    "\n  mutation MarkRead($roomId: ID!, $seq: Int!) {\n    markRead(roomId: $roomId, seq: $seq) {\n      id\n    }\n  }\n": types.MarkReadDocument,
    "\n  mutation SetTyping($roomId: ID!, $typing: Boolean!) {\n    setTyping(roomId: $roomId, typing: $typing)\n  }\n": types.SetTypingDocument,
    "\n  subscription MessageAdded($roomId: ID!, $afterSeq: Int) {\n    messageAdded(roomId: $roomId, afterSeq: $afterSeq) {\n      ...MessageFields\n    }\n  }\n": types.MessageAddedDocument,
    "\n  subscription MessageUpdated($roomId: ID!, $after: String) {\n    messageUpdated(roomId: $roomId, after: $after) {\n      ...MessageFields\n      ...ThreadFields\n    }\n  }\n": types.MessageUpdatedDocument,
    "\n  subscription Typing($roomId: ID!) {\n    typing(roomId: $roomId) {\n      user {\n        id\n        displayName\n      }\n      typing\n    }\n  }\n": types.TypingDocument,
    "\n  subscription MyEvents($after: String) {\n    myEvents(after: $after) {\n      __typename\n      ... on MessageAddedEvent {\n        cursor\n        roomId\n        unreadCount\n        notify\n        message {\n          id\n          seq\n          body\n          createdAt\n          sender {\n            displayName\n          }\n        }\n      }\n      ... on RoomRenamedEvent {\n        cursor\n        roomId\n        name\n      }\n      ... on MemberRoleEvent {\n        cursor\n        roomId\n      }\n      ... on MessageUpdatedEvent {\n        cursor\n        roomId\n        change\n        message {\n          id\n          body\n          deletedAt\n        }\n      }\n      ... on MentionedEvent {\n        cursor\n        roomId\n        notify\n        message {\n          id\n        }\n      }\n      ... on RoomAddedEvent {\n        cursor\n        roomId\n      }\n      ... on MemberLeftEvent {\n        cursor\n        roomId\n        user {\n          id\n        }\n      }\n      ... on ReadPositionEvent {\n        cursor\n        roomId\n        user {\n          id\n          displayName\n        }\n        lastReadSeq\n      }\n      ... on PresenceEvent {\n        cursor\n        user {\n          id\n        }\n        online\n      }\n    }\n  }\n": types.MyEventsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignUp($username: String!, $password: String!, $displayName: String!) {\n    signUp(username: $username, password: $password, displayName: $displayName) {\n      token\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SignUp($username: String!, $password: String!, $displayName: String!) {\n    signUp(username: $username, password: $password, displayName: $displayName) {\n      token\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LogIn($username: String!, $password: String!) {\n    logIn(username: $username, password: $password) {\n      token\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation LogIn($username: String!, $password: String!) {\n    logIn(username: $username, password: $password) {\n      token\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LogOut {\n    logOut\n  }\n"): (typeof documents)["\n  mutation LogOut {\n    logOut\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      username\n      displayName\n      friends {\n        id\n        username\n        displayName\n        online\n      }\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      username\n      displayName\n      friends {\n        id\n        username\n        displayName\n        online\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UserByUsername($username: String!) {\n    userByUsername(username: $username) {\n      id\n      username\n      displayName\n    }\n  }\n"): (typeof documents)["\n  query UserByUsername($username: String!) {\n    userByUsername(username: $username) {\n      id\n      username\n      displayName\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddFriends($ids: [ID!]!) {\n    addFriends(userIds: $ids) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation AddFriends($ids: [ID!]!) {\n    addFriends(userIds: $ids) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment RoomFields on Room {\n    id\n    name\n    isDirect\n    unreadCount\n    mentionCount\n    members {\n      id\n      displayName\n    }\n    lastMessage {\n      id\n      seq\n      body\n      createdAt\n      sender {\n        displayName\n      }\n    }\n  }\n"): (typeof documents)["\n  fragment RoomFields on Room {\n    id\n    name\n    isDirect\n    unreadCount\n    mentionCount\n    members {\n      id\n      displayName\n    }\n    lastMessage {\n      id\n      seq\n      body\n      createdAt\n      sender {\n        displayName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Rooms {\n    rooms(first: 100) {\n      ...RoomFields\n    }\n  }\n"): (typeof documents)["\n  query Rooms {\n    rooms(first: 100) {\n      ...RoomFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRoom($name: String!, $memberIds: [ID!]!) {\n    createRoom(name: $name, memberIds: $memberIds) {\n      ...RoomFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateRoom($name: String!, $memberIds: [ID!]!) {\n    createRoom(name: $name, memberIds: $memberIds) {\n      ...RoomFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DirectRoom($userId: ID!) {\n    directRoom(userId: $userId) {\n      ...RoomFields\n    }\n  }\n"): (typeof documents)["\n  mutation DirectRoom($userId: ID!) {\n    directRoom(userId: $userId) {\n      ...RoomFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment MessageFields on Message {\n    id\n    seq\n    body\n    clientMessageId\n    createdAt\n    editedAt\n    deletedAt\n    parentId\n    sender {\n      id\n      displayName\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    mentions {\n      id\n      username\n    }\n    quotedMessage {\n      id\n      body\n      sender {\n        displayName\n      }\n    }\n    quotedMessageDeleted\n  }\n"): (typeof documents)["\n  fragment MessageFields on Message {\n    id\n    seq\n    body\n    clientMessageId\n    createdAt\n    editedAt\n    deletedAt\n    parentId\n    sender {\n      id\n      displayName\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    mentions {\n      id\n      username\n    }\n    quotedMessage {\n      id\n      body\n      sender {\n        displayName\n      }\n    }\n    quotedMessageDeleted\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ThreadFields on Message {\n    replyCount\n    lastReplyAt\n    unreadReplyCount\n    replyParticipants {\n      id\n      displayName\n    }\n  }\n"): (typeof documents)["\n  fragment ThreadFields on Message {\n    replyCount\n    lastReplyAt\n    unreadReplyCount\n    replyParticipants {\n      id\n      displayName\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query History($roomId: ID!, $beforeSeq: Int) {\n    room(id: $roomId) {\n      id\n      lastReadSeq\n      readPositions {\n        user {\n          id\n          displayName\n        }\n        lastReadSeq\n      }\n      messages(last: 30, beforeSeq: $beforeSeq) {\n        ...MessageFields\n        ...ThreadFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query History($roomId: ID!, $beforeSeq: Int) {\n    room(id: $roomId) {\n      id\n      lastReadSeq\n      readPositions {\n        user {\n          id\n          displayName\n        }\n        lastReadSeq\n      }\n      messages(last: 30, beforeSeq: $beforeSeq) {\n        ...MessageFields\n        ...ThreadFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Replies($parentId: ID!) {\n    replies(parentId: $parentId, last: 100) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  query Replies($parentId: ID!) {\n    replies(parentId: $parentId, last: 100) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkThreadRead($parentId: ID!, $seq: Int!) {\n    markThreadRead(parentId: $parentId, seq: $seq) {\n      id\n      ...ThreadFields\n    }\n  }\n"): (typeof documents)["\n  mutation MarkThreadRead($parentId: ID!, $seq: Int!) {\n    markThreadRead(parentId: $parentId, seq: $seq) {\n      id\n      ...ThreadFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PinMessage($messageId: ID!) {\n    pinMessage(messageId: $messageId) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation PinMessage($messageId: ID!) {\n    pinMessage(messageId: $messageId) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UnpinMessage($messageId: ID!) {\n    unpinMessage(messageId: $messageId) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation UnpinMessage($messageId: ID!) {\n    unpinMessage(messageId: $messageId) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RoomHeader($roomId: ID!) {\n    room(id: $roomId) {\n      id\n      name\n      isDirect\n      notificationLevel\n      members {\n        id\n        displayName\n        online\n      }\n      pinnedMessages {\n        id\n        body\n        sender {\n          displayName\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query RoomHeader($roomId: ID!) {\n    room(id: $roomId) {\n      id\n      name\n      isDirect\n      notificationLevel\n      members {\n        id\n        displayName\n        online\n      }\n      pinnedMessages {\n        id\n        body\n        sender {\n          displayName\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetRoomNotifications($roomId: ID!, $level: NotificationLevel!) {\n    setRoomNotifications(roomId: $roomId, level: $level) {\n      id\n      notificationLevel\n    }\n  }\n"): (typeof documents)["\n  mutation SetRoomNotifications($roomId: ID!, $level: NotificationLevel!) {\n    setRoomNotifications(roomId: $roomId, level: $level) {\n      id\n      notificationLevel\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendMessage($roomId: ID!, $body: String!, $clientMessageId: String, $parentId: ID, $quotedMessageId: ID) {\n    sendMessage(\n      roomId: $roomId\n      body: $body\n      clientMessageId: $clientMessageId\n      parentId: $parentId\n      quotedMessageId: $quotedMessageId\n    ) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($roomId: ID!, $body: String!, $clientMessageId: String, $parentId: ID, $quotedMessageId: ID) {\n    sendMessage(\n      roomId: $roomId\n      body: $body\n      clientMessageId: $clientMessageId\n      parentId: $parentId\n      quotedMessageId: $quotedMessageId\n    ) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EditMessage($messageId: ID!, $body: String!) {\n    editMessage(messageId: $messageId, body: $body) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation EditMessage($messageId: ID!, $body: String!) {\n    editMessage(messageId: $messageId, body: $body) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteMessage($messageId: ID!) {\n    deleteMessage(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteMessage($messageId: ID!) {\n    deleteMessage(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation React($messageId: ID!, $emoji: String!) {\n    react(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation React($messageId: ID!, $emoji: String!) {\n    react(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkRead($roomId: ID!, $seq: Int!) {\n    markRead(roomId: $roomId, seq: $seq) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation MarkRead($roomId: ID!, $seq: Int!) {\n    markRead(roomId: $roomId, seq: $seq) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetTyping($roomId: ID!, $typing: Boolean!) {\n    setTyping(roomId: $roomId, typing: $typing)\n  }\n"): (typeof documents)["\n  mutation SetTyping($roomId: ID!, $typing: Boolean!) {\n    setTyping(roomId: $roomId, typing: $typing)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription MessageAdded($roomId: ID!, $afterSeq: Int) {\n    messageAdded(roomId: $roomId, afterSeq: $afterSeq) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  subscription MessageAdded($roomId: ID!, $afterSeq: Int) {\n    messageAdded(roomId: $roomId, afterSeq: $afterSeq) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription MessageUpdated($roomId: ID!, $after: String) {\n    messageUpdated(roomId: $roomId, after: $after) {\n      ...MessageFields\n      ...ThreadFields\n    }\n  }\n"): (typeof documents)["\n  subscription MessageUpdated($roomId: ID!, $after: String) {\n    messageUpdated(roomId: $roomId, after: $after) {\n      ...MessageFields\n      ...ThreadFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Typing($roomId: ID!) {\n    typing(roomId: $roomId) {\n      user {\n        id\n        displayName\n      }\n      typing\n    }\n  }\n"): (typeof documents)["\n  subscription Typing($roomId: ID!) {\n    typing(roomId: $roomId) {\n      user {\n        id\n        displayName\n      }\n      typing\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription MyEvents($after: String) {\n    myEvents(after: $after) {\n      __typename\n      ... on MessageAddedEvent {\n        cursor\n        roomId\n        unreadCount\n        notify\n        message {\n          id\n          seq\n          body\n          createdAt\n          sender {\n            displayName\n          }\n        }\n      }\n      ... on RoomRenamedEvent {\n        cursor\n        roomId\n        name\n      }\n      ... on MemberRoleEvent {\n        cursor\n        roomId\n      }\n      ... on MessageUpdatedEvent {\n        cursor\n        roomId\n        change\n        message {\n          id\n          body\n          deletedAt\n        }\n      }\n      ... on MentionedEvent {\n        cursor\n        roomId\n        notify\n        message {\n          id\n        }\n      }\n      ... on RoomAddedEvent {\n        cursor\n        roomId\n      }\n      ... on MemberLeftEvent {\n        cursor\n        roomId\n        user {\n          id\n        }\n      }\n      ... on ReadPositionEvent {\n        cursor\n        roomId\n        user {\n          id\n          displayName\n        }\n        lastReadSeq\n      }\n      ... on PresenceEvent {\n        cursor\n        user {\n          id\n        }\n        online\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription MyEvents($after: String) {\n    myEvents(after: $after) {\n      __typename\n      ... on MessageAddedEvent {\n        cursor\n        roomId\n        unreadCount\n        notify\n        message {\n          id\n          seq\n          body\n          createdAt\n          sender {\n            displayName\n          }\n        }\n      }\n      ... on RoomRenamedEvent {\n        cursor\n        roomId\n        name\n      }\n      ... on MemberRoleEvent {\n        cursor\n        roomId\n      }\n      ... on MessageUpdatedEvent {\n        cursor\n        roomId\n        change\n        message {\n          id\n          body\n          deletedAt\n        }\n      }\n      ... on MentionedEvent {\n        cursor\n        roomId\n        notify\n        message {\n          id\n        }\n      }\n      ... on RoomAddedEvent {\n        cursor\n        roomId\n      }\n      ... on MemberLeftEvent {\n        cursor\n        roomId\n        user {\n          id\n        }\n      }\n      ... on ReadPositionEvent {\n        cursor\n        roomId\n        user {\n          id\n          displayName\n        }\n        lastReadSeq\n      }\n      ... on PresenceEvent {\n        cursor\n        user {\n          id\n        }\n        online\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;