-- Direct messages name their recipient by e-mail in the web app, but auth.users is not readable
-- by API roles. This function answers exactly one question, "which user id has this e-mail?",
-- for signed-in users only (anon cannot enumerate accounts), and reveals nothing else.
create or replace function public.user_id_by_email(email text) returns text
  language sql stable security definer set search_path = ''
as $$
  select u.id::text from auth.users u
  where lower(u.email) = lower(user_id_by_email.email) and u.deleted_at is null
  limit 1
$$;
revoke all on function public.user_id_by_email(text) from public, anon;
grant execute on function public.user_id_by_email(text) to authenticated, service_role;
