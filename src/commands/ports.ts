/**
 * What the domain needs from the transport, as interfaces: services depend on these, and
 * src/kafka implements them, so no feature imports Kafka.
 */
import type { Positions } from "./positions.js";
import type { CommandAnswer, CommandDefinition, PresenceReport, RoomEvent, RoomEventOf } from "./protocol.js";

export interface CommandBus {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Publishes a command to `chat.commands` and waits for its outcome event.
   * Resolves with the decoded result or throws the AppError the worker reported.
   */
  execute<P, R>(command: CommandDefinition<P, R>, payload: P, actorId: string | null): Promise<R>;
}

/** Where a command bus hears its commands' answers: the event bus, seen by the command bus. */
export type CommandAnswers = Pick<EventBus, "onAnswer" | "awake">;

export interface EventBus {
  /** Connects and resolves once the consumer is positioned at the end of the topic. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Live events of one room, as a bounded async iterator; `return()` unsubscribes. When the
   * reader falls `queueLimit` events behind, the iterator fails and `onOverflow` runs (the
   * transport closes the connection: a reader that is not reading never sees the error).
   */
  subscribeRoom(roomId: string, onOverflow?: () => void): AsyncIterableIterator<RoomEvent>;
  /** Open room subscriptions in this process. */
  readonly subscriptionCount: number;
  /**
   * Per partition of commands, the place of the last stored room event this process read:
   * everything before it has been handed to its listeners (commands/positions.ts).
   */
  readonly positions: Positions;
  /** The partition of chat.commands that commands keyed by `key` (a room id) go to. */
  commandPartitionOf(key: string): number;
  /**
   * Answers to the commands this process waits for: outcome records, and events marked as a
   * command's outcome (decoded only when `awaits` says someone here waits for that command).
   */
  onAnswer(
    awaits: (commandId: string) => boolean,
    listener: (commandId: string, answer: CommandAnswer) => void,
  ): () => void;
  /** Users whose rows changed (login, logout, profile, deletion), as seen by every API process. */
  onUserChanged(listener: (userId: string) => void): () => void;
  /**
   * Every event of the rooms `wants` names, in order (for users' feeds). `wants` is asked per
   * record with its room id and event type before the record is decoded, so rooms nobody
   * here follows cost nothing.
   */
  onRoomEvents(wants: (roomId: string, type: string) => boolean, listener: (event: RoomEvent) => void): () => void;
  /** Presence reports of every API process (this one's too). */
  onPresence(listener: (report: PresenceReport) => void): () => void;
  /**
   * Publishes an ephemeral event (typing, presence) straight to `chat.events`, bypassing the
   * workers: nothing stores it, and a lost one is replaced by the next.
   */
  publish(event: RoomEventOf<"Typing"> | PresenceReport): Promise<void>;
  readonly connected: boolean;
  /**
   * Tells the bus whether anyone here may want an event soon (open WebSockets, commands
   * waiting for their answers); asked once a second. When nobody has for a while, the bus
   * pauses its consumer: a process costs nothing for traffic it does not serve.
   */
  setDemand(demand: () => boolean): void;
  /**
   * Resolves once this process reads every event published from now on: at once, unless the
   * consumer was paused (see setDemand), which it then resumes at the topic's end. Call it
   * before relying on what events keep current (cached sessions, command answers).
   */
  awake(): Promise<void>;
  /** The consumer is paused: nobody here has been served for a while (see setDemand). */
  readonly paused: boolean;
  /** Called when a paused consumer resumed: whatever events kept current may have changed meanwhile. */
  onResume(listener: () => void): () => void;
}
