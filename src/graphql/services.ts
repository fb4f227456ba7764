import type { TokenService } from "../auth/tokens.js";
import type { Database } from "../db/client.js";
import { MessagesService } from "../features/messages/messages.service.js";
import { RoomsService } from "../features/rooms/rooms.service.js";
import { UsersService } from "../features/users/users.service.js";
import type { CommandBus } from "../kafka/commandBus.js";
import type { EventBus } from "../kafka/eventBus.js";

export interface Services {
  users: UsersService;
  rooms: RoomsService;
  messages: MessagesService;
}

export function createServices(deps: { db: Database; commands: CommandBus; events: EventBus; tokens: TokenService }): Services {
  const users = new UsersService(deps.db, deps.commands, deps.tokens);
  const rooms = new RoomsService(deps.db, deps.commands);
  const messages = new MessagesService(deps.db, deps.commands, deps.events, rooms);
  return { users, rooms, messages };
}
