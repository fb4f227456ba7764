CREATE TABLE "room_departures" (
	"user_id" uuid NOT NULL,
	"room_id" uuid NOT NULL,
	"departed_at" timestamp (3) with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "command_log" ADD COLUMN "partition" integer;--> statement-breakpoint
ALTER TABLE "command_log" ADD COLUMN "log_offset" bigint;--> statement-breakpoint
ALTER TABLE "command_log" ADD COLUMN "room_id" uuid;--> statement-breakpoint
ALTER TABLE "command_log" ADD COLUMN "room_events" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "position" bigint;--> statement-breakpoint
CREATE INDEX "room_departures_user_idx" ON "room_departures" USING btree ("user_id","departed_at");--> statement-breakpoint
CREATE INDEX "command_log_room_idx" ON "command_log" USING btree ("room_id","log_offset") WHERE "command_log"."room_id" is not null;--> statement-breakpoint
CREATE INDEX "command_log_rooms_idx" ON "command_log" USING btree ("partition","log_offset") WHERE "command_log"."room_id" is null and "command_log"."room_events";