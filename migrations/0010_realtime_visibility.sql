-- Realtime (issue 8): a cheaper visibility check, substrate.realtime_visibility(items, safe),
-- replacing the one-argument function of 0007 (same input and output; see its header).
--
-- At 1,000 changes/s, each for one subscriber, the old function spent most of its time on work
-- that does not depend on the subscriber's claims, redone for every (change, subscriber):
--   * parsing, rewriting (RLS policies) and planning the EXECUTEd lookup. The lookup is now a
--     session-level prepared statement per (table, key condition), named substrate_rt_<md5>,
--     created on first use on the change source's connection and kept for its lifetime, as
--     Supabase's own walrus does. PostgreSQL's plan cache re-rewrites and re-plans a statement
--     whose plan depends on RLS whenever the current role differs from the one it was planned
--     for, so policies still apply as each subscriber's role; the claims are read by the
--     policies at execution (current_setting), so one plan serves every subscriber of a role;
--   * the key condition per (table, key columns), whether the login role may switch to a role
--     (per role), and the columns a role may SELECT (per table and role; has_column_privilege
--     answers for the role whoever asks): computed once per call;
--   * a subtransaction per subscriber (the exception block that turns an error in a policy into
--     "not visible"): only with safe = true. The change source calls with safe = false and,
--     when that fails, repeats the same batch with safe = true, so the answers are those of the
--     safe evaluation in every case and the common case pays no subtransactions.
drop function if exists substrate.realtime_visibility(jsonb);

-- One subscriber's lookup: prepared statement `stmt` (none when '') with the change's key values,
-- as `role_name` with `claims`; the role is reset afterwards. An error propagates (the caller
-- decides whether it is caught).
create or replace function substrate.realtime_lookup_as(role_name text, claims text, stmt text, vals text[])
returns boolean
language plpgsql volatile
as $$
declare
  ok boolean;
begin
  perform set_config('role', role_name, true);
  perform set_config('request.jwt.claims', claims, true);
  if stmt <> '' then
    execute format('execute %I(%L)', stmt, vals) into ok;
  end if;
  perform set_config('role', 'none', true);
  return ok;
end
$$;

revoke all on function substrate.realtime_lookup_as(text, text, text, text[]) from public;

create or replace function substrate.realtime_visibility(items jsonb, safe boolean)
returns table(item int, sub int, visible boolean, selectable json)
language plpgsql volatile
as $$
declare
  it jsonb;
  s jsonb;
  rel regclass;
  rel_key text;
  cond text;
  vals text[];
  k text;
  typ text;
  ok boolean;
  n int;
  tx bigint;
  xmax xid8;
  full_xid xid8;
  delta bigint;
  wait_until timestamptz;
  role_name text;
  allowed boolean;
  columns_key text;
  stmt text;
  conds jsonb := '{}';    -- "<rel oid> <key columns>" -> prepared statement ('' when a key column is unknown)
  may jsonb := '{}';      -- role -> whether the login role may switch to it
  columns jsonb := '{}';  -- "<rel oid> <role>" -> columns the role may SELECT
  has_authenticator boolean;
begin
  perform set_config('role', 'none', true);
  has_authenticator := exists (select 1 from pg_roles r where r.rolname = 'authenticator');
  item := 0;
  for it in select value from jsonb_array_elements(items) loop
    item := item + 1;
    rel := (it->>'rel')::oid::regclass;
    tx := (it->>'xid')::bigint;
    xmax := pg_snapshot_xmax(pg_current_snapshot());
    -- The 32-bit xid made 64-bit: the full xid nearest to the snapshot's xmax. The transaction
    -- may not be complete in this snapshot yet (that is what the wait below is for), so tx can
    -- be at or a little past xmax; 0007 took that for an xid of the previous epoch, computed an
    -- xid that never becomes visible and waited its whole bound (seconds under load) - the p99
    -- spikes of the first measurements.
    delta := ((xmax::text::bigint & 4294967295) - tx) & 4294967295;
    if delta >= 2147483648 then
      delta := delta - 4294967296;
    end if;
    full_xid := greatest(xmax::text::bigint - delta, 0)::text::xid8;
    -- Wait (bounded by time, not by a count of sleeps that last longer on a loaded machine)
    -- until the transaction is visible to a new snapshot.
    wait_until := clock_timestamp() + interval '1 second';
    while not pg_visible_in_snapshot(full_xid, pg_current_snapshot()) and clock_timestamp() < wait_until loop
      perform pg_sleep(0.0002);
    end loop;
    -- Key values in jsonb_object_keys order, which is also the order of the cached condition's
    -- parameters (jsonb stores keys sorted, so equal key sets list equally).
    vals := '{}';
    rel_key := it->>'rel';
    for k in select jsonb_object_keys(it->'key') loop
      vals := vals || (it->'key'->>k);
      rel_key := rel_key || ' ' || quote_ident(k);
    end loop;
    if conds ? rel_key then
      stmt := conds->>rel_key;
    else
      cond := '';
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
      end loop;
      stmt := '';
      if cond <> '' then
        select format('select exists (select 1 from %I.%I where %s)', c.relnamespace::regnamespace::text, c.relname, cond)
          into cond from pg_class c where c.oid = rel;
        stmt := 'substrate_rt_' || md5(rel::oid::text || ' ' || cond);
        if not exists (select 1 from pg_prepared_statements p where p.name = stmt) then
          execute format('prepare %I(text[]) as %s', stmt, cond);
        end if;
      end if;
      conds := conds || jsonb_build_object(rel_key, stmt);
    end if;
    sub := 0;
    for s in select value from jsonb_array_elements(it->'subs') loop
      sub := sub + 1;
      ok := false;
      selectable := '[]'::json;
      role_name := s->>0;
      if may ? role_name then
        allowed := (may->>role_name)::boolean;
      else
        allowed := exists (select 1 from pg_roles r where r.rolname = role_name)
                   and (not has_authenticator or pg_has_role('authenticator', role_name, 'member'));
        may := may || jsonb_build_object(role_name, allowed);
      end if;
      if allowed then
        columns_key := (it->>'rel') || ' ' || role_name;
        if not columns ? columns_key then
          columns := columns || jsonb_build_object(columns_key,
            coalesce((select json_agg(a.attname::text order by a.attnum)
                        from pg_attribute a
                       where a.attrelid = rel and a.attnum > 0 and not a.attisdropped
                         and has_column_privilege(role_name, rel, a.attnum, 'SELECT')), '[]'::json));
        end if;
        selectable := (columns->columns_key)::json;
        if safe then
          begin
            ok := substrate.realtime_lookup_as(role_name, s->>1, stmt, vals);
          exception when others then
            ok := false;
          end;
        else
          ok := substrate.realtime_lookup_as(role_name, s->>1, stmt, vals);
        end if;
      end if;
      visible := coalesce(ok, false);
      return next;
    end loop;
  end loop;
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
end
$$;

revoke all on function substrate.realtime_visibility(jsonb, boolean) from public;
