import type { TokenService } from "../auth/tokens.js";
import type { Database } from "../db/client.js";
import { FriendsService } from "../features/friends/friends.service.js";
import { MessagesService } from "../features/messages/messages.service.js";
import { RoomsService } from "../features/rooms/rooms.service.js";
import { SavedService } from "../features/saved/saved.service.js";
import { UsersService } from "../features/users/users.service.js";
import type { CommandBus } from "../kafka/commandBus.js";
import type { EventBus } from "../kafka/eventBus.js";
import type { RateLimits } from "../rateLimits.js";

export interface Services {
  users: UsersService;
  rooms: RoomsService;
  messages: MessagesService;
  friends: FriendsService;
  saved: SavedService;
  rateLimits: RateLimits;
}

export function createServices(deps: {
  db: Database;
  commands: CommandBus;
  events: EventBus;
  tokens: TokenService;
  rateLimits: RateLimits;
}): Services {
  const users = new UsersService(deps.db, deps.commands, deps.tokens, deps.events);
  const rooms = new RoomsService(deps.db, deps.commands);
  const messages = new MessagesService(deps.db, deps.commands, deps.events, rooms);
  const friends = new FriendsService(deps.db, deps.commands);
  const saved = new SavedService(deps.db, deps.commands);
  return { users, rooms, messages, friends, saved, rateLimits: deps.rateLimits };
}
