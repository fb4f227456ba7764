import DataLoader from "dataloader";
import type { RoomRow, UserRow } from "../db/schema.js";
import type { Services } from "./services.js";

/** Batching caches for one operation (or one subscription event); never shared. */
export function createLoaders(services: Services) {
  return {
    user: new DataLoader<string, UserRow | null>(async (ids) => {
      const rows = await services.users.byIds(ids);
      return ids.map((id) => rows.find((r) => r.id === id) ?? null);
    }),
    room: new DataLoader<string, RoomRow | null>(async (ids) => {
      const rows = await services.rooms.byIds(ids);
      return ids.map((id) => rows.find((r) => r.id === id) ?? null);
    }),
    memberIds: new DataLoader<string, string[]>(async (roomIds) => {
      const byRoom = await services.rooms.memberIds(roomIds);
      return roomIds.map((id) => byRoom.get(id) ?? []);
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
