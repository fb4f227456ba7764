/**
 * The features of the API, in the order their services are built (a feature may use the
 * services of those before it). Adding a feature means a folder with an index.ts and a line
 * here.
 */
import { blocksFeature } from "./blocks/index.js";
import { friendsFeature } from "./friends/index.js";
import { liveFeature } from "./live/index.js";
import { mentionsFeature } from "./mentions/index.js";
import { messagesFeature } from "./messages/index.js";
import { moderationFeature } from "./moderation/index.js";
import { notificationsFeature } from "./notifications/index.js";
import { pinsFeature } from "./pins/index.js";
import { deletionHooksOf, inDependencyOrder, type FeatureModule } from "./module.js";
import { reactionsFeature } from "./reactions/index.js";
import { roomsFeature } from "./rooms/index.js";
import { savedFeature } from "./saved/index.js";
import { searchFeature } from "./search/index.js";
import { threadsFeature } from "./threads/index.js";
import { usersFeature } from "./users/index.js";

export const features: readonly FeatureModule[] = inDependencyOrder([
  usersFeature,
  blocksFeature,
  friendsFeature,
  roomsFeature,
  messagesFeature,
  savedFeature,
  reactionsFeature,
  pinsFeature,
  threadsFeature,
  mentionsFeature,
  notificationsFeature,
  moderationFeature,
  searchFeature,
  liveFeature,
]);

/** Every command type the workers apply. */
export const allCommands = features.flatMap((f) => f.commands);

/** What each feature does to its rows when an account or a message is deleted. */
export const deletionHooks = deletionHooksOf(features);
