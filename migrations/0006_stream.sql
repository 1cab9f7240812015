-- The stream-processing runtime (src/stream, issue 7).
--
-- substrate.stream_offsets: per processor and input partition, the next offset to process. It is
-- advanced in the same transaction as the effects of the records before it, so a redelivered
-- record (offset < next_offset) is recognised and its effects are not applied again. This is the
-- source of truth for positions; Kafka's committed offsets follow it (for lag and tooling).
--
-- substrate.stream_timers: durable timers, written by handlers inside their transaction
-- (schedule/cancel) and fired once by the processor's timer loop, which deletes the row in the
-- transaction that runs the timer handler. A timer whose handler fails permanently stays, with
-- attempts and last_error, and is retried later with backoff.
--
-- Output records go to substrate.outbox (migration 0003, which always applies before this one).
create schema if not exists substrate;

create table if not exists substrate.stream_offsets (
  processor text not null,
  topic text not null,
  partition integer not null,
  next_offset bigint not null,
  updated_at timestamptz not null default now(),
  primary key (processor, topic, partition)
);

create table if not exists substrate.stream_timers (
  processor text not null,
  key text not null,
  fire_at timestamptz not null,
  payload jsonb not null default '{}'::jsonb,
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  primary key (processor, key)
);

create index if not exists stream_timers_due on substrate.stream_timers (processor, fire_at);
