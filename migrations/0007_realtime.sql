-- Realtime (issue 8): the publication whose tables feed postgres_changes, and the visibility
-- check the change source runs once per change for all its subscribers.
--
-- The publication is created empty when absent (the platform tables are added by 0005; apps run
-- `alter publication supabase_realtime add table ...` as on Supabase). PostgreSQL 15 has no
-- `create publication if not exists`.
do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;

create schema if not exists substrate;

-- substrate.realtime_visibility(xid, rel, key_columns, key_values, roles, claims): for each
-- subscriber i (roles[i] with the JWT claims claims[i], JSON text) one row
--   (idx = i, visible, selectable = JSON array of the columns roles[i] may SELECT)
-- where `visible` says whether the row of `rel` whose key columns equal key_values (text forms,
-- cast to the column types) is returned to that subscriber under the table's RLS policies.
--
-- Like PostgREST per request, each check switches `role` and `request.jwt.claims`
-- (transaction-local), so policies using auth.uid() / auth.jwt() work unchanged; the query is
-- dynamic SQL (EXECUTE), planned under the switched role, which is what makes RLS apply per
-- subscriber. All subscribers of a change are checked in this ONE statement (one round trip,
-- one transaction), instead of one query per subscriber as in Supabase Realtime. A role the
-- login role `authenticator` may not switch to (or any error in a policy) means not visible.
-- Runs in the caller's implicit transaction; the settings end with it.
--
-- `xid` is the changed row's transaction: logical decoding sees its commit record before the
-- transaction is visible to other sessions' snapshots (the commit is WAL-logged before the
-- backend leaves the proc array), so the function first waits, briefly, until it is.
create or replace function substrate.realtime_visibility(xid bigint, rel regclass, key_columns text[],
                                                         key_values text[], roles text[], claims text[])
returns table(idx int, visible boolean, selectable json)
language plpgsql volatile
as $$
declare
  cond text := '';
  typ text;
  ok boolean;
  allowed boolean;
  i int;
  xmax xid8;
  full_xid xid8;
  waited int := 0;
begin
  xmax := pg_snapshot_xmax(pg_current_snapshot());
  -- The 32-bit xid with the epoch of the current snapshot (or the one before, after a wrap).
  full_xid := (((xmax::text::bigint >> 32) - case when xid > (xmax::text::bigint & 4294967295) then 1 else 0 end)
               * 4294967296 + xid)::text::xid8;
  while not pg_visible_in_snapshot(full_xid, pg_current_snapshot()) and waited < 5000 loop
    perform pg_sleep(0.0002);
    waited := waited + 1;
  end loop;
  for i in 1 .. coalesce(array_length(key_columns, 1), 0) loop
    select format_type(a.atttypid, a.atttypmod) into typ
      from pg_attribute a where a.attrelid = rel and a.attname = key_columns[i] and not a.attisdropped;
    if typ is null then
      cond := '';
      exit;
    end if;
    cond := cond || case when i > 1 then ' and ' else '' end
                 || format('%I = ($1[%s])::%s', key_columns[i], i, typ);
  end loop;
  for i in 1 .. coalesce(array_length(roles, 1), 0) loop
    idx := i;
    ok := false;
    selectable := '[]'::json;
    allowed := exists (select 1 from pg_roles r where r.rolname = roles[i])
               and (not exists (select 1 from pg_roles r where r.rolname = 'authenticator')
                    or pg_has_role('authenticator', roles[i], 'member'));
    if allowed then
      begin
        perform set_config('role', roles[i], true);
        perform set_config('request.jwt.claims', claims[i], true);
        if cond <> '' then
          execute format('select exists (select 1 from %s where %s)', rel, cond) into ok using key_values;
        end if;
        selectable := coalesce((select json_agg(a.attname::text order by a.attnum)
                                  from pg_attribute a
                                 where a.attrelid = rel and a.attnum > 0 and not a.attisdropped
                                   and has_column_privilege(roles[i], rel, a.attnum, 'SELECT')), '[]'::json);
      exception when others then
        ok := false;
      end;
    end if;
    visible := coalesce(ok, false);
    return next;
  end loop;
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
end
$$;

revoke all on function substrate.realtime_visibility(bigint, regclass, text[], text[], text[], text[]) from public;
