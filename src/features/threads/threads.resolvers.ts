import type { Resolvers } from "../../graphql/generated/resolvers.js";
import type { GraphQLContext } from "../../graphql/context.js";
import { userOrDeleted } from "../users/users.resolvers.js";

const summary = (ctx: GraphQLContext, parentId: string) =>
  ctx.loaders.named("threadSummary", (ids: readonly string[]) => ctx.services.threads.summaries(ids)).load(parentId);

export const threadsResolvers: Resolvers = {
  Query: {
    replies: (_, { parentId, last, beforeSeq }, ctx) =>
      ctx.services.threads.replies(ctx.requireViewer(), parentId, { last: last ?? 50, beforeSeq }),
  },
  Mutation: {
    markThreadRead: (_, { parentId, seq }, ctx) =>
      ctx.services.threads.markRead(ctx.requireViewer(), { parentId, seq }),
  },
  Message: {
    // A reply has no thread of its own: nothing to count.
    replyCount: async (message, _, ctx) => (message.parentId ? 0 : (await summary(ctx, message.id)).replyCount),
    lastReplyAt: async (message, _, ctx) => (message.parentId ? null : (await summary(ctx, message.id)).lastReplyAt),
    replyParticipants: async (message, _, ctx) => {
      if (message.parentId) return [];
      const { participantIds } = await summary(ctx, message.id);
      return Promise.all(participantIds.map((id) => userOrDeleted(ctx, id)));
    },
    unreadReplyCount: (message, _, ctx) => {
      const viewerId = ctx.requireViewer().id;
      if (message.parentId) return 0;
      return ctx.loaders
        .named("unreadReplies", (ids: readonly string[]) => ctx.services.threads.unreadReplies(viewerId, ids))
        .load(message.id);
    },
  },
};
