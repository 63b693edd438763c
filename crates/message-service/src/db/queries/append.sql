-- Writes a batch of messages of one talk, numbered by the caller from the
-- talk's counters (append.rs `number`), in one statement — only if the
-- counters are still the ones the numbers came from (last_change = $6):
-- else it writes nothing. The outbox rows and idempotency records come last
-- ({outbox} and {claims}: talk-store's inserts, for each row of c); a key
-- recorded already fails the whole statement.
--   $1 talk, $2 customer, $3 last_seq, $4 last_change, $5 last_tm_create
--   after the batch, $6 last_change before it,
--   $7 the messages: a jsonb array of {id, parent_id, owner_type, owner_id,
--      type, text, medias, seq, change_seq, tm, reader, mentions} (mentions:
--      the wire's list as JSON text; one row of `mentions` per agent in it),
--   $8 the outbox rows (talk_store::Outbox::rows_json),
--   $9 the idempotency records (talk_store::idempotency::rows_json)
WITH c AS (
  UPDATE talk_counters SET last_seq = $3, last_change = $4, last_tm_create = $5
  WHERE talk_id = $1 AND customer_id = $2 AND last_change = $6
  RETURNING 1
), i AS (
  SELECT * FROM jsonb_to_recordset($7::jsonb) AS t(id uuid, parent_id uuid, owner_type text,
    owner_id uuid, "type" text, text text, medias text, seq bigint, change_seq bigint,
    tm bigint, reader uuid, mentions text)
), m AS (
  INSERT INTO messages (id, customer_id, talk_id, parent_id, owner_type, owner_id, "type",
    text, medias, seq, change_seq, reply_count, tm_create, tm_update, mentions)
  SELECT i.id, $2, $1, i.parent_id, i.owner_type, i.owner_id, i."type", i.text, i.medias,
    i.seq, i.change_seq, 0,
    timestamptz 'epoch' + i.tm * interval '1 microsecond',
    timestamptz 'epoch' + i.tm * interval '1 microsecond',
    i.mentions
  FROM c, i
), n AS (
  INSERT INTO mentions (message_id, agent_id, customer_id, talk_id, seq, tm_create)
  SELECT DISTINCT i.id, (e->>'agent_id')::uuid, $2, $1, i.seq,
    timestamptz 'epoch' + i.tm * interval '1 microsecond'
  FROM c, i, jsonb_array_elements(i.mentions::jsonb) AS e
  WHERE i.mentions <> '[]'
), r AS (
  INSERT INTO read_states (talk_id, agent_id, customer_id, last_read_seq)
  SELECT $1, i.reader, $2, max(i.seq) FROM c, i
  WHERE i.reader IS NOT NULL GROUP BY i.reader
  ON CONFLICT (talk_id, agent_id) DO UPDATE
  SET last_read_seq = GREATEST(read_states.last_read_seq, excluded.last_read_seq)
), o AS (
  {outbox}
), k AS (
  {claims}
)
SELECT count(*) AS written FROM c
