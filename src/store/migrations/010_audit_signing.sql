-- The signed audit trail (src/log): a writer's tag on every row, a signature on every retention
-- purge and on the chain head, and the rows the sealer refused. Existing rows stay as they are: the
-- first seal with the audit key signs the chain as it stands and goes on keyed from there.
alter table transfer_log
  add column writer_mac text,
  add column purge_mac text,
  add column seal_rejected text;

-- The sealer reads unsealed rows it has not refused, in seq order.
drop index transfer_log_unsealed;
create index transfer_log_unsealed on transfer_log (seq) where chain_pos is null and seal_rejected is null;
create index transfer_log_rejected on transfer_log (seq) where seal_rejected is not null;

-- chain_id names this chain in exported checkpoints (a wiped and restarted log gets a new one);
-- keyed_from is the first position sealed with the audit key; the signature covers the whole head.
alter table log_chain
  add column chain_id text not null default gen_random_uuid()::text,
  add column keyed_from bigint,
  add column sealed_at timestamptz,
  add column signature text;
