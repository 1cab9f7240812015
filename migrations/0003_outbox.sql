-- The transactional outbox (contracts: session3-contracts "Outbox"; docs/decisions/0003-outbox-relay.md).
-- A writer inserts a row into substrate.outbox in the same transaction as the change the event
-- reports; the relay in `substrate up` (src/bus/outbox_relay) produces it to `topic` as
-- Confluent Avro (schema `<topic>-value`), exactly once, then deletes it. `payload` is the plain
-- JSON of the record as the Avro JSON encoder accepts it for the topic's schema.
create schema if not exists substrate;

create table if not exists substrate.outbox (
  id bigserial primary key,
  topic text not null,
  key text,
  payload jsonb not null,
  created_at timestamptz not null default now()
);

-- Rows that can never be encoded with their topic's schema (a writer's bug), moved out of the
-- way by the relay with the reason, so they do not hold back the rows behind them.
create table if not exists substrate.outbox_dead (
  id bigint primary key,
  topic text not null,
  key text,
  payload jsonb not null,
  created_at timestamptz not null,
  error text not null,
  failed_at timestamptz not null default now()
);

-- Trusted back-end writers (service_role) may add events; only the relay reads and deletes.
grant usage on schema substrate to service_role;
grant insert on substrate.outbox to service_role;
grant usage on sequence substrate.outbox_id_seq to service_role;
