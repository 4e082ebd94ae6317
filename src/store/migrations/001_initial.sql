-- Subjects the gateway has heard of, and what it was told about them beyond the master record.
create table subjects (
  id text primary key,
  created_at timestamptz not null default now(),
  restricted_at timestamptz,
  restriction_reason text,
  subscription_ended_at timestamptz,
  erasure_due_at timestamptz,
  erasure_reason text,
  erasure_completed_at timestamptz,
  relationship_ended_at timestamptz
);
create index subjects_erasure_due on subjects (erasure_due_at) where erasure_due_at is not null and erasure_completed_at is null;

-- The observed state per (subject, partner): what the partner acknowledged last.
create table links (
  subject_id text not null,
  partner text not null,
  partner_ids jsonb not null default '[]',
  digest text,
  holds boolean not null default false,
  consent_entry_applied text,
  suppressed boolean not null default false,
  last_sent_at timestamptz,
  last_fields text[] not null default '{}',
  erased_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (subject_id, partner)
);
create index links_partner on links (partner, subject_id);

-- Append-only; the latest entry per (subject, purpose) wins.
create table consent_ledger (
  id bigserial primary key,
  subject_id text not null,
  purpose text not null,
  status text not null check (status in ('granted', 'withdrawn')),
  source text not null,
  evidence text,
  operator text,
  at timestamptz not null default now()
);
create index consent_ledger_latest on consent_ledger (subject_id, purpose, id desc);

-- Erased subjects: nothing may re-create them anywhere.
create table tombstones (
  subject_id text primary key,
  at timestamptz not null,
  reason text not null,
  operator text
);

-- Every outbound call: an intent row before it, an outcome row after it. Never a personal value.
create table transfer_log (
  seq bigserial primary key,
  at timestamptz not null default clock_timestamp(),
  kind text not null check (kind in ('intent', 'outcome', 'event')),
  intent_seq bigint,
  subject_id text,
  partner text,
  operation text not null,
  purpose text,
  legal_basis text,
  trigger text not null,
  operator text,
  correlation_id text not null,
  fields text[] not null default '{}',
  categories text[] not null default '{}',
  payload_digest text,
  partner_id text,
  outcome text,
  http_status int,
  error_code text,
  attempt int,
  duration_ms int,
  policy_digest text not null,
  -- Sealing: rows join the hash chain in batches, in chain_pos order.
  chain_pos bigint unique,
  content_hash text,
  chain_hash text,
  purged_at timestamptz
);
create index transfer_log_subject on transfer_log (subject_id, seq);
create index transfer_log_unsealed on transfer_log (seq) where chain_pos is null;
create index transfer_log_open_intents on transfer_log (subject_id, partner) where kind = 'intent';
create index transfer_log_outcome_of on transfer_log (intent_seq) where kind = 'outcome';

create table log_chain (
  id int primary key check (id = 1),
  last_pos bigint not null,
  last_hash text not null
);

-- Per-partner rate limit state shared by every worker process (GCRA: theoretical arrival time).
create table rate_limits (
  partner text primary key,
  tat timestamptz not null default clock_timestamp(),
  paused_until timestamptz
);
