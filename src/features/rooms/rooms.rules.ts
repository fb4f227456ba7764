import { typedText } from "../../text.js";

/** A room's name, for the API's arguments and the workers' payloads alike. */
export const roomName = typedText({ min: 1, max: 100 });
export const MAX_ROOM_MEMBERS = 100;
