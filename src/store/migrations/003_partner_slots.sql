-- Calls in flight per partner, shared by every worker process: one row per allowed concurrent call.
-- A holder that dies keeps its slot only until the lease runs out.
create table partner_slots (
  partner text not null,
  slot int not null,
  holder text,
  expires_at timestamptz,
  primary key (partner, slot)
);
