-- The restriction behaviour carried out at the partner for the subject's current restriction
-- (GDPR Art. 18 and 19): 'suppress' (Mailchimp: unsubscribed while restricted), 'archive' (Intercom:
-- archived), 'keep' (the partner has no restriction mechanism: it was noted, nothing was called).
-- Null: nothing done for a restriction. Unrestrict undoes what this says, whatever the policy says by then.
alter table links add column restriction_applied text
  check (restriction_applied in ('suppress', 'archive', 'keep'));
