-- How far the resync has read partner-side unsubscribes (src/partner-withdrawals.ts), per partner:
-- the latest last_changed the partner reported, on the partner's own clock. No subject, no personal value.
create table partner_unsubscribe_checks (
  partner text primary key,
  read_until timestamptz not null,
  checked_at timestamptz not null default now()
);
