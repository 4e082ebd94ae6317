-- The policy digest the payload a partner holds was made under: a link whose digest is not the
-- current policy's is not yet known to be in step with it (status counts them; a resync that finds
-- the partner in step, or sends it what the policy now says, brings the digest up to date).
alter table links add column policy_digest text;
