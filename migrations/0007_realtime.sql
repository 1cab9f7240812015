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

-- substrate.realtime_visibility(items): the row-level-security check of a batch of committed
-- changes for all their subscribers, in one statement. `items` is a JSON array, one element per
-- changed row:
--   {"xid": <writing transaction>, "rel": <table oid>, "key": {"<key column>": "<text value>", ...},
--    "subs": [["<role>", "<claims JSON text>"], ...]}
-- and the result has one row per (item, sub), both 1-based:
--   (item, sub, visible, selectable = JSON array of the columns the role may SELECT)
-- where `visible` says whether the row whose key columns equal the values (cast to the column
-- types) is returned to that subscriber under the table's RLS policies.
--
-- Like PostgREST per request, each check switches `role` and `request.jwt.claims`
-- (transaction-local), so policies using auth.uid() / auth.jwt() work unchanged; the query is
-- dynamic SQL (EXECUTE), planned under the switched role, which is what makes RLS apply per
-- subscriber. One round trip and one transaction for all subscribers of all changes of a batch,
-- instead of one query per subscriber as in Supabase Realtime. A role the login role
-- `authenticator` may not switch to (or any error in a policy) means not visible.
--
-- Logical decoding sees a commit record before the transaction is visible to other sessions'
-- snapshots (the commit is WAL-logged before the backend leaves the proc array), so each item
-- first waits, briefly, until its transaction is visible.
create or replace function substrate.realtime_visibility(items jsonb)
returns table(item int, sub int, visible boolean, selectable json)
language plpgsql volatile
as $$
declare
  it jsonb;
  s jsonb;
  rel regclass;
  cond text;
  vals text[];
  k text;
  typ text;
  ok boolean;
  n int;
  tx bigint;
  xmax xid8;
  full_xid xid8;
  waited int;
begin
  item := 0;
  for it in select value from jsonb_array_elements(items) loop
    item := item + 1;
    perform set_config('role', 'none', true);
    rel := (it->>'rel')::oid::regclass;
    tx := (it->>'xid')::bigint;
    xmax := pg_snapshot_xmax(pg_current_snapshot());
    -- The 32-bit xid with the epoch of the current snapshot (or the one before, after a wrap).
    full_xid := (((xmax::text::bigint >> 32) - case when tx > (xmax::text::bigint & 4294967295) then 1 else 0 end)
                 * 4294967296 + tx)::text::xid8;
    waited := 0;
    while not pg_visible_in_snapshot(full_xid, pg_current_snapshot()) and waited < 5000 loop
      perform pg_sleep(0.0002);
      waited := waited + 1;
    end loop;
    cond := '';
    vals := '{}';
    n := 0;
    for k in select jsonb_object_keys(it->'key') loop
      n := n + 1;
      typ := null;
      select format_type(a.atttypid, a.atttypmod) into typ
        from pg_attribute a where a.attrelid = rel and a.attname = k and not a.attisdropped;
      if typ is null then
        cond := '';
        exit;
      end if;
      cond := cond || case when n > 1 then ' and ' else '' end || format('%I = ($1[%s])::%s', k, n, typ);
      vals := vals || (it->'key'->>k);
    end loop;
    sub := 0;
    for s in select value from jsonb_array_elements(it->'subs') loop
      sub := sub + 1;
      ok := false;
      selectable := '[]'::json;
      perform set_config('role', 'none', true);
      if exists (select 1 from pg_roles r where r.rolname = s->>0)
         and (not exists (select 1 from pg_roles r where r.rolname = 'authenticator')
              or pg_has_role('authenticator', s->>0, 'member')) then
        begin
          perform set_config('role', s->>0, true);
          perform set_config('request.jwt.claims', s->>1, true);
          if cond <> '' then
            execute format('select exists (select 1 from %s where %s)', rel, cond) into ok using vals;
          end if;
          selectable := coalesce((select json_agg(a.attname::text order by a.attnum)
                                    from pg_attribute a
                                   where a.attrelid = rel and a.attnum > 0 and not a.attisdropped
                                     and has_column_privilege(s->>0, rel, a.attnum, 'SELECT')), '[]'::json);
        exception when others then
          ok := false;
        end;
      end if;
      visible := coalesce(ok, false);
      return next;
    end loop;
  end loop;
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
end
$$;

revoke all on function substrate.realtime_visibility(jsonb) from public;
