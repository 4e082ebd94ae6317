-- Keyed fingerprints of the keys the store's data was made with (an HMAC of a constant under each
-- key, never the key): a gateway started with another pseudonym key would re-create every subject at
-- the partners under new pseudonyms, so it refuses to start instead (src/store/key-fingerprints.ts).
create table key_fingerprints (
  name text primary key,
  fingerprint text not null,
  created_at timestamptz not null default now()
);
