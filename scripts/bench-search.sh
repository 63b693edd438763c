#!/usr/bin/env bash
# Search benchmark (issue 21) on PostgreSQL: N messages (default 1,000,000) in
# 1,000 talks of one customer, in the tables message-service's own migrations
# make (`talk migrate`), each message 12 words drawn uniformly from 5,000.
#   - latency of the statement message-service sends for a two-word query (one
#     a prefix) with filters: the caller's 60 readable talks, live normal
#     messages, no file, after a date, newest first, a page of 20 — pgbench,
#     one client, percentiles from its per-statement log;
#   - the size of the search indexes on disk;
#   - what the index adds to writing a message: one insert per transaction
#     into a copy of the table without and with the search column and indexes.
# Usage: scripts/bench-search.sh [messages]. Needs psql, pgbench and
# target/debug/talk (cargo build -p talk).
set -euo pipefail
N=${1:-1000000}
TALKS=1000
PG=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=talk_search_bench
SECS=${SECS:-20}
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
TALK_DATABASE_URL="$PG/$DB" TALK_JWT_SECRET=bench-secret-of-enough-length-0123456789 \
  TALK_ADMIN_PASSWORD=bench-password target/debug/talk migrate >/dev/null
Q="psql $PG/$DB -qAt -v ON_ERROR_STOP=1"
$Q <<SQL
SET search_path = message;
SET maintenance_work_mem = '512MB';
CREATE TABLE talk_ids AS SELECT i AS n, md5('talk' || i)::uuid AS id
  FROM generate_series(1, $TALKS) i;
DROP INDEX ix_messages_search;
DROP INDEX ix_messages_trgm;
INSERT INTO messages (id, customer_id, talk_id, parent_id, owner_type, owner_id, "type", text,
  medias, seq, change_seq, reply_count, tm_create, tm_update, mentions)
SELECT md5('m' || g)::uuid, '00000000-0000-4000-8000-000000000001', t.id, NULL, 'agent',
  md5('a' || (g % 50))::uuid, 'normal',
  (SELECT string_agg(substr(md5(k::text), 1, 3 + k % 6), ' ') FROM
    (SELECT 1 + floor(random() * 5000)::int AS k FROM generate_series(1, 12) WHERE g >= 0) r),
  CASE WHEN g % 10 = 0 THEN '[{"type":"file"}]' ELSE '[]' END,
  g / $TALKS + 1, g / $TALKS + 1, 0,
  timestamptz '2026-01-01' + g * interval '1 second',
  timestamptz '2026-01-01' + g * interval '1 second', '[]'
FROM generate_series(0, $N - 1) g JOIN talk_ids t ON t.n = 1 + g % $TALKS;
CREATE INDEX ix_messages_search ON messages USING gin (search);
CREATE INDEX ix_messages_trgm ON messages USING gin (lower(text) public.gin_trgm_ops);
VACUUM ANALYZE messages;
SQL
echo "messages: $($Q -c 'SELECT count(*) FROM message.messages')"
$Q -c "SELECT relname || ': ' || pg_size_pretty(pg_relation_size(oid)) FROM pg_class
  WHERE relname IN ('ix_messages_search', 'ix_messages_trgm', 'messages') ORDER BY relname"
echo "tsvector column: $($Q -c "SELECT pg_size_pretty(sum(pg_column_size(search))) FROM message.messages")"
# The caller reads 60 talks (say 10 it is in and 50 public ones), as ReadableTalks answers.
READ=$($Q -c "SELECT string_agg('''' || id || '''', ',') FROM (SELECT id FROM message.talk_ids ORDER BY n LIMIT 60) t")
cat > /tmp/search-bench.sql <<PGB
\set a random(1, 5000)
\set b random(1, 5000)
SELECT m.id, m.text FROM message.messages m
WHERE m.customer_id = '00000000-0000-4000-8000-000000000001' AND m.talk_id IN ($READ)
  AND m.tm_delete IS NULL AND m."type" = 'normal' AND m.medias = '[]'
  AND m.tm_create > timestamptz '2026-01-01'
  AND m.search @@ to_tsquery('simple', '(''' || substr(md5(':a'), 1, 3 + :a % 6) || ''') & ('''
    || substr(md5(':b'), 1, 3 + :b % 6) || ''':*)')
ORDER BY m.tm_create DESC, m.id DESC LIMIT 20;
PGB
pct() { sort -n | awk '{a[NR]=$1} END {printf "p50 %.2f ms, p99 %.2f ms, max %.2f ms, n %d\n", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000, a[NR]/1000, NR}'; }
rm -rf /tmp/search-bench-log && mkdir /tmp/search-bench-log
(cd /tmp/search-bench-log && pgbench -n -c 1 -T "$SECS" -f /tmp/search-bench.sql -l "$PG/$DB" >/dev/null)
echo -n "search, two words (one a prefix), 60 talks, filters: "
cat /tmp/search-bench-log/pgbench_log.* | awk '{print $3}' | pct
$Q <<SQL
SET search_path = message;
CREATE TABLE plain (LIKE messages INCLUDING DEFAULTS);
ALTER TABLE plain DROP COLUMN search;
ALTER TABLE plain ADD PRIMARY KEY (id);
CREATE INDEX ON plain (talk_id, tm_create);
CREATE TABLE indexed (LIKE messages INCLUDING DEFAULTS INCLUDING GENERATED);
ALTER TABLE indexed ADD PRIMARY KEY (id);
CREATE INDEX ON indexed (talk_id, tm_create);
CREATE INDEX ON indexed USING gin (search);
CREATE INDEX ON indexed USING gin (lower(text) public.gin_trgm_ops);
INSERT INTO plain SELECT id, customer_id, talk_id, parent_id, owner_type, owner_id, "type", text,
  medias, seq, change_seq, reply_count, tm_create, tm_update, tm_delete, mentions
  FROM messages ORDER BY tm_create LIMIT 200000;
INSERT INTO indexed (id, customer_id, talk_id, parent_id, owner_type, owner_id, "type", text,
  medias, seq, change_seq, reply_count, tm_create, tm_update, tm_delete, mentions)
  SELECT id, customer_id, talk_id, parent_id, owner_type, owner_id, "type", text,
  medias, seq, change_seq, reply_count, tm_create, tm_update, tm_delete, mentions FROM plain;
VACUUM ANALYZE plain;
VACUUM ANALYZE indexed;
SQL
for table in plain indexed; do
  cat > /tmp/search-bench-insert.sql <<PGB
INSERT INTO message.$table (id, customer_id, talk_id, owner_type, owner_id, "type", text, medias,
  seq, change_seq, reply_count, tm_create, tm_update, mentions)
VALUES (gen_random_uuid(), '00000000-0000-4000-8000-000000000001', gen_random_uuid(), 'agent',
  gen_random_uuid(), 'normal',
  'the refund for order ' || :client_id || ' was approved yesterday by the support team lead',
  '[]', 1, 1, 0, now(), now(), '[]');
PGB
  echo -n "insert one message per transaction, $table: "
  pgbench -n -c 1 -T "$SECS" -f /tmp/search-bench-insert.sql "$PG/$DB" | grep -E "latency average|^tps" | tr '\n' ' '
  echo
done
