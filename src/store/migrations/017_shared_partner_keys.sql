-- Two subjects can end up with one record at a partner that keys by a personal value (two customers
-- with one email: one Mailchimp member, one Auth0 login). An erasure never deletes what another live
-- subject still claims; conflict_since marks the withheld erasure for an operator to settle. The
-- index finds the other claimants of an id.
alter table links add column conflict_since timestamptz;
create index links_partner_ids on links using gin (partner_ids jsonb_path_ops);
