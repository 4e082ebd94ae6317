-- Subjects whose master record the source stopped returning (source.get -> null) while a partner may
-- hold them. Nothing is erased for it until the host's grace period has passed and the record was
-- read once more and was still missing; a record that comes back deletes the row (src/missing-records.ts).
create table missing_records (
  subject_id text primary key,
  since timestamptz not null,
  last_read_at timestamptz not null
);
create index missing_records_since on missing_records (since);
