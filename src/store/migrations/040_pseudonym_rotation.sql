-- A pseudonym key rotation in progress (src/rotation): key_fingerprints holds the target key's
-- fingerprint under the name 'pseudonym_next' until every partner keyed by the pseudonym is moved
-- onto it; this table says which (subject, partner) pairs are, so a rerun after a crash goes on
-- where the last one stopped. Emptied when the rotation completes. No personal value.
create table pseudonym_rotation_done (
  subject_id text not null,
  partner text not null,
  done_at timestamptz not null default now(),
  primary key (partner, subject_id)
);
