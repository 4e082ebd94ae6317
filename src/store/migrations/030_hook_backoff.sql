-- The host's hooks are retried with backoff (src/lifecycle/host-hooks.ts): attempts counted, the next
-- attempt's time stored, and since when the hook has been failing, which `status` shows. The camera
-- hook's success is part of an erasure's completeness, so it is never given up.
alter table subjects
  add column camera_hook_attempts int not null default 0,
  add column camera_hook_next_at timestamptz,
  add column camera_hook_failing_since timestamptz,
  add column erased_hook_attempts int not null default 0,
  add column erased_hook_next_at timestamptz,
  add column erased_hook_failing_since timestamptz;
