-- What stops an erased subject from being re-created after the retention purge removed its
-- tombstone (src/store/erased.ts): a keyed hash of the subject id (src/keys.ts erasureMark), written
-- in the purge's transaction. No subject id and no personal value; kept for good.
create table erasure_marks (
  mark text primary key,
  purged_at timestamptz not null
);
