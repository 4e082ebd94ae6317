-- The register of data subjects' requests (GDPR Art. 12): when each arrived, how the requester was
-- verified, when it is due (one month after receipt, Art. 12(3), or the extended date), and when and
-- how it was answered. References point at where the letter or ticket is kept: never its content.
create table subject_requests (
  id bigserial primary key,
  subject_id text not null,
  kind text not null check (kind in ('access', 'rectification', 'restriction', 'erasure', 'objection')),
  received_at timestamptz not null,
  channel text not null,
  reference text,
  verified_at timestamptz,
  verification text,
  verification_reference text,
  due_at timestamptz not null,
  extended_to timestamptz,
  extension_reason text,
  answered_at timestamptz,
  answer_channel text,
  answer_reference text,
  outcome text check (outcome in ('fulfilled', 'partly-fulfilled', 'refused', 'withdrawn')),
  operator text,
  check ((answered_at is null) = (outcome is null)),
  check (extended_to is null or extended_to > due_at)
);
create index subject_requests_subject on subject_requests (subject_id, id);
create index subject_requests_open on subject_requests (coalesce(extended_to, due_at)) where answered_at is null;
