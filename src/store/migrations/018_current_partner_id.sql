-- The id the partner last answered with for the subject: its current key there. A Mailchimp member
-- is re-keyed when the address changes, so the link's list of ids holds old keys beside the current
-- one; which one is current is said here, not by a position in that list.
alter table links add column current_id text;
