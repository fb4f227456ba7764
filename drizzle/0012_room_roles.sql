ALTER TABLE "messages" ADD COLUMN "deleted_by" uuid;--> statement-breakpoint
ALTER TABLE "room_members" ADD COLUMN "role" text DEFAULT 'MEMBER' NOT NULL;--> statement-breakpoint
-- Each group room's creator owns it; where the creator is gone, its oldest member does.
UPDATE "room_members" m SET "role" = 'OWNER' FROM "rooms" r
WHERE r."id" = m."room_id" AND r."creator_id" = m."user_id" AND NOT r."is_direct";--> statement-breakpoint
UPDATE "room_members" m SET "role" = 'OWNER' FROM (
  SELECT DISTINCT ON (rm."room_id") rm."room_id", rm."user_id" FROM "room_members" rm
  JOIN "rooms" r ON r."id" = rm."room_id"
  WHERE NOT r."is_direct" AND NOT EXISTS (
    SELECT 1 FROM "room_members" o WHERE o."room_id" = rm."room_id" AND o."role" = 'OWNER')
  ORDER BY rm."room_id", rm."joined_at", rm."user_id"
) oldest WHERE m."room_id" = oldest."room_id" AND m."user_id" = oldest."user_id";
