-- Erasures an operator did by hand at a partner of the policy this gateway has no adapter for
-- (src/lifecycle/manual-erasure.ts): until one is recorded there, the subject's erasure is not
-- complete. The reason is free text kept here and never in the log; the log records the event and
-- the operator. Removed with the subject's other rows by the retention purge.
create table manual_erasures (
  subject_id text not null,
  partner text not null,
  at timestamptz not null,
  operator text not null,
  reason text not null,
  primary key (subject_id, partner)
);
