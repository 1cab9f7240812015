// Helpers for the whole-platform suites: supabase-js clients for fresh users of a running
// `substrate up`, polling for rows, and collecting realtime inserts.
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

export const password = 'Test1234!!';

export function uniqueEmail(prefix) {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}@e2e-test.local`;
}

// Node 20 has no global WebSocket: supabase-js needs the transport even for clients that never
// subscribe (supabase-compat.md 1.7).
export function client(s, key = s.apiKeys().anon) {
  return createClient(s.apiUrl, key, {
    realtime: { transport: WebSocket },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

// Signs a new user up (auto-confirmed) and returns {supabase, user, session, email}.
export async function signUp(s, prefix) {
  const supabase = client(s);
  const email = uniqueEmail(prefix);
  const { data, error } = await supabase.auth.signUp({ email, password });
  if (error) throw new Error(`sign-up of ${email} failed: ${error.message}`);
  if (!data.session) throw new Error(`sign-up of ${email} returned no session (auto-confirm off?)`);
  return { supabase, user: data.user, session: data.session, email };
}

// Polls `query` (an async function returning {data, error}) until `accept(data)` holds.
export async function eventually(query, accept, { timeoutMs = 30_000, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await query();
    if (last.error) throw new Error(`${what}: ${last.error.message}`);
    if (accept(last.data)) return last.data;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last?.data)}`);
}

export function notificationsOf(supabase, eventType) {
  return () => supabase.from('user_notifications').select('*').eq('event_type', eventType)
    .order('created_at', { ascending: false });
}

// Subscribes to INSERTs on user_notifications as the client's signed-in user; resolves once
// SUBSCRIBED with {rows, channel, waitFor(predicate, timeoutMs)}.
export async function subscribeNotifications(supabase, token) {
  supabase.realtime.setAuth(token);
  const rows = [];
  const waiters = [];
  const channel = supabase.channel(`e2e-${Math.random().toString(36).slice(2)}`)
    .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'user_notifications' }, (change) => {
      rows.push(change.new);
      for (const w of [...waiters]) {
        if (w.predicate(change.new)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(change.new);
        }
      }
    });
  await new Promise((resolve, reject) => {
    channel.subscribe((status, error) => {
      if (status === 'SUBSCRIBED') resolve();
      else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') reject(new Error(`realtime ${status}: ${error?.message}`));
    });
  });
  return {
    rows,
    channel,
    waitFor(predicate, timeoutMs = 30_000) {
      const found = rows.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { predicate, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`no realtime row matched within ${timeoutMs} ms; got ${JSON.stringify(rows)}`));
          }
        }, timeoutMs);
      });
    },
  };
}

export async function postMessage(s, session, { message, visibility = 'broadcast', recipientId = null }) {
  return fetch(`${s.gatewayUrl}/api/v1/events/message`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${session.access_token}` },
    body: JSON.stringify({
      user_id: session.user.id, email: session.user.email, message,
      timestamp: new Date().toISOString(), visibility, recipient_id: recipientId,
    }),
  });
}
