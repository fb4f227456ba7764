-- A client's retry is found by the message id its clientMessageId names (messageIdOf), no longer
-- by this index. A retry of a message stored before this migration is not recognised as one.
DROP INDEX "messages_client_id_key";