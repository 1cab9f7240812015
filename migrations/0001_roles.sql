-- The API roles of the Supabase-compatible data API (issue 5 builds on them):
--   anon           requests without a user session (anon key)
--   authenticated  requests with a user's access token
--   service_role   trusted back-end requests; bypasses row-level security
-- Roles are cluster-wide, so they are created only when absent: an external database (a real
-- Supabase project) already has them.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

grant usage on schema public to anon, authenticated, service_role;
