-- The platform's tables behind the data API (contracts.md 2.1-2.4), with row-level security, and
-- the logical-replication publication Realtime reads (supabase-compat.md 4).
--
-- Fixes of the reference's defects (contracts.md 11.4):
--   * user_credit_balances is a security_invoker view: it sums only the ledger rows the caller's
--     own policies let it see, so a user reads their own balance and nobody else's (anon: none).
--   * direct messages are visible to their sender (user_id) and their recipient only; files only
--     to their owner while active.
-- Policies compare with auth.uid()::text, which is NULL (never equal) for anon requests and for a
-- pooled connection whose request.jwt.claims setting is empty (auth.uid() treats '' as missing).
--
-- Idempotent on an external database: every object is created only when absent, policies are
-- dropped and recreated under their fixed names.

create table if not exists public.user_notifications (
  id bigint generated always as identity primary key,
  user_id text not null,
  event_type text not null,
  payload text not null default '{}',
  event_time text not null,
  visibility text not null default 'broadcast',
  recipient_id text,
  created_at timestamptz not null default now()
);
alter table public.user_notifications enable row level security;
alter table public.user_notifications replica identity full;
drop policy if exists user_notifications_select on public.user_notifications;
create policy user_notifications_select on public.user_notifications for select to authenticated using (
  user_id = (select auth.uid()::text)
  or (event_type = 'user.message' and visibility = 'broadcast')
  or (event_type = 'user.message' and visibility = 'direct' and recipient_id = (select auth.uid()::text))
);
-- Clients never insert; privileged back-ends bypass RLS.
drop policy if exists user_notifications_insert on public.user_notifications;
create policy user_notifications_insert on public.user_notifications for insert with check (false);

create table if not exists public.credit_ledger (
  id bigint generated always as identity primary key,
  user_id text not null,
  amount integer not null,
  event_type text not null,
  description text not null default '',
  event_time text not null,
  created_at timestamptz not null default now()
);
alter table public.credit_ledger enable row level security;
alter table public.credit_ledger replica identity full;
drop policy if exists credit_ledger_select on public.credit_ledger;
create policy credit_ledger_select on public.credit_ledger for select to authenticated
  using (user_id = (select auth.uid()::text));
create index if not exists credit_ledger_user_id_idx on public.credit_ledger (user_id);

-- security_invoker (PostgreSQL 15+): the view runs with the caller's rights and policies.
create or replace view public.user_credit_balances with (security_invoker = true) as
  select user_id, coalesce(sum(amount), 0)::bigint as balance
  from public.credit_ledger
  group by user_id;

create table if not exists public.media_files (
  id bigint generated always as identity primary key,
  user_id text not null,
  file_name text not null,
  file_path text not null,
  file_size bigint not null,
  media_type text not null,
  status text not null default 'active',
  upload_time text not null,
  created_at timestamptz not null default now()
);
alter table public.media_files enable row level security;
alter table public.media_files replica identity full;
drop policy if exists media_files_select on public.media_files;
create policy media_files_select on public.media_files for select to authenticated
  using (user_id = (select auth.uid()::text) and status = 'active');

grant all on public.user_notifications, public.credit_ledger, public.media_files to anon, authenticated, service_role;
grant select on public.user_credit_balances to anon, authenticated, service_role;

-- The publication Realtime decodes (pgoutput). Created empty when absent (a real Supabase has
-- it), then each platform table is added unless it is already a member.
do $$
declare
  t text;
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
  if (select puballtables from pg_publication where pubname = 'supabase_realtime') then
    return;  -- FOR ALL TABLES already covers them
  end if;
  foreach t in array array['user_notifications', 'credit_ledger', 'media_files'] loop
    if not exists (select 1 from pg_publication_tables
                   where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = t) then
      execute format('alter publication supabase_realtime add table public.%I', t);
    end if;
  end loop;
end
$$;

-- PostgREST's schema-reload convention, as Supabase has it: every DDL statement sends
-- NOTIFY pgrst, 'reload schema', and /rest/v1 reloads its schema cache.
create schema if not exists substrate;
create or replace function substrate.pgrst_ddl_watch() returns event_trigger
language plpgsql as $$
begin
  notify pgrst, 'reload schema';
end
$$;
do $$
begin
  if not exists (select 1 from pg_event_trigger where evtname in ('pgrst_ddl_watch', 'substrate_pgrst_ddl_watch')) then
    create event trigger substrate_pgrst_ddl_watch on ddl_command_end
      execute function substrate.pgrst_ddl_watch();
  end if;
  if not exists (select 1 from pg_event_trigger where evtname in ('pgrst_drop_watch', 'substrate_pgrst_drop_watch')) then
    create event trigger substrate_pgrst_drop_watch on sql_drop
      execute function substrate.pgrst_ddl_watch();
  end if;
end
$$;
