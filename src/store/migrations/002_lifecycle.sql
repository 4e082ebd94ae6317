-- Lifecycle bookkeeping for the host's hooks (src/lifecycle/host-hooks.ts). A hook that failed is
-- retried by the next processDueErasures(), so each hook has a "done" time and a lease: the lease
-- keeps two processes from calling the same hook at once, and runs out if a process dies mid-call.
alter table subjects
  add column camera_anonymised_at timestamptz,
  add column camera_hook_lease timestamptz,
  add column erased_notified_at timestamptz,
  add column erased_hook_lease timestamptz;

-- Subjects whose erasure is under way: processDueErasures() sweeps them.
create index subjects_erasure_open on subjects (id) where erasure_due_at is not null and erasure_completed_at is null;
create index subjects_relationship_ended on subjects (relationship_ended_at) where relationship_ended_at is not null;
