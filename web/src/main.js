// The Substrate web app: sign-up/sign-in, live notifications (REST prefetch + realtime), messages
// and the credit balance, all through supabase-js against Substrate (contracts.md 7).
import { createClient } from '@supabase/supabase-js';

import { sendMessage } from './api.js';
import { createEventList, createNotificationHandler } from './events.js';
import { emailLocalPart } from './format.js';
import { createNotificationWaiter } from './waiter.js';
import './style.css';

const $ = (id) => document.getElementById(id);

// `substrate up` serves /config.json with the running instance's URLs and anon key; the Vite
// variables are the fallback for a dev server pointed elsewhere.
async function loadConfig() {
  try {
    const response = await fetch('/config.json', { cache: 'no-store' });
    if (response.ok) return await response.json();
  } catch { /* fall through to the build-time settings */ }
  return {
    supabaseUrl: import.meta.env.VITE_SUPABASE_URL ?? 'http://127.0.0.1:54321',
    anonKey: import.meta.env.VITE_SUPABASE_ANON_KEY,
    gatewayUrl: import.meta.env.VITE_API_GATEWAY_URL ?? 'http://127.0.0.1:8080',
  };
}

function showAlert(element, message, kind = 'error') {
  element.textContent = message;
  element.className = `alert ${kind}`;
  element.hidden = false;
}

function hideAlert(element) {
  element.hidden = true;
  element.textContent = '';
}

async function start() {
  const config = await loadConfig();
  if (!config.anonKey) {
    console.error('Substrate web: no anon key (is /config.json served by substrate up?)');
    showAlert($('fatal'), 'The app is not configured: no anon key. Open it from `substrate up` (port 3000).');
    return;
  }
  const supabase = createClient(config.supabaseUrl, config.anonKey);
  const events = createEventList($('events-list'), $('events-empty'));
  const waiter = createNotificationWaiter();
  let signupMode = false;
  let channel = null;
  let currentUser = null;
  let showing = null;  // the user id the home view currently shows

  // ---- auth view (contracts.md 7.1) ----
  function setMode(signup) {
    signupMode = signup;
    $('auth-title').textContent = signup ? 'Create an account' : 'Welcome back';
    $('auth-subtitle').textContent = signup ? 'Sign up to get started' : 'Enter your details to log in to your account';
    $('auth-submit').textContent = signup ? 'Sign Up' : 'Log In';
    $('auth-prompt').textContent = signup ? 'Already have an account?' : "Don't have an account?";
    $('auth-toggle').textContent = signup ? 'Log in' : 'Sign up';
    $('password').autocomplete = signup ? 'new-password' : 'current-password';
    hideAlert($('auth-alert'));
  }
  $('auth-toggle').addEventListener('click', () => setMode(!signupMode));

  $('auth-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const email = $('email').value.trim();
    const password = $('password').value;
    if (!email || !password) {
      showAlert($('auth-alert'), 'Enter your email and password.');
      return;
    }
    const button = $('auth-submit');
    button.disabled = true;
    hideAlert($('auth-alert'));
    try {
      if (signupMode) {
        const { data, error } = await supabase.auth.signUp({ email, password });
        if (error) throw error;
        if (!data.session) {
          showAlert($('auth-alert'), 'Signup successful! Check your email or try logging in.', 'success');
          setTimeout(() => {
            if (signupMode) setMode(false);
            $('password').value = '';
          }, 2000);
        }
      } else {
        const { error } = await supabase.auth.signInWithPassword({ email, password });
        if (error) throw error;
      }
      await refresh();
    } catch (error) {
      showAlert($('auth-alert'), error?.message || 'An error occurred during authentication.');
    } finally {
      button.disabled = false;
    }
  });

  // ---- credits (contracts.md 7.4) ----
  let creditReads = 0;
  async function refreshCredits() {
    if (!currentUser) return;
    // Reads can overlap (sign-in, SUBSCRIBED, notifications); only the latest one may paint, or
    // an older answer arriving last would show a stale balance.
    const read = ++creditReads;
    const { data, error } = await supabase
      .from('user_credit_balances').select('balance').eq('user_id', currentUser.id).maybeSingle();
    if (read !== creditReads) return;
    const badge = $('credit-badge');
    if (error) {
      $('credit-count').textContent = '?';
      badge.title = `Could not read your balance: ${error.message}`;
      return;
    }
    const balance = data ? Number(data.balance) : 0;
    $('credit-count').textContent = String(balance);
    badge.classList.toggle('empty', balance <= 0);
    badge.title = 'Your credit balance';
  }

  // ---- live events (contracts.md 7.7): subscribe, then prefetch, so nothing falls between ----
  const onNotification = createNotificationHandler({ list: events, waiter, refreshCredits });

  async function subscribe(token) {
    if (channel) await supabase.removeChannel(channel);
    supabase.realtime.setAuth(token);
    $('live-status').textContent = 'connecting…';
    channel = supabase
      .channel('user-events')
      .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'user_notifications' },
        (change) => onNotification(change.new))
      .subscribe((status, error) => {
        const label = { SUBSCRIBED: 'live', CHANNEL_ERROR: 'disconnected', TIMED_OUT: 'timed out', CLOSED: 'closed' };
        $('live-status').textContent = label[status] ?? status.toLowerCase();
        if (error) console.warn('realtime:', status, error.message);
        // Read the history and the balance only now: a change committed before this point is in
        // what they read, one committed after it arrives live (and a credit.balance_changed
        // notification reads the balance again).
        if (status === 'SUBSCRIBED') {
          loadHistory();
          refreshCredits();
        }
      });
  }

  async function loadHistory() {
    const { data, error } = await supabase
      .from('user_notifications')
      .select('id,event_type,payload,event_time,visibility,recipient_id,created_at')
      .order('created_at', { ascending: false })
      .limit(20);
    if (error) {
      showAlert($('message-alert'), `Could not load your events: ${error.message}`);
      return;
    }
    events.showHistory(data);
  }

  // ---- session handling (contracts.md 7.2) ----
  async function refresh() {
    const { data: { session } } = await supabase.auth.getSession();
    let user = null;
    if (session) {
      const { data, error } = await supabase.auth.getUser();
      if (error) {
        await supabase.auth.signOut({ scope: 'local' });  // a stale session, e.g. after a reset
      } else {
        user = data.user;
      }
    }
    if (user && showing === user.id) return;
    currentUser = user;
    if (user) {
      showing = user.id;
      $('auth-view').hidden = true;
      $('home-view').hidden = false;
      $('welcome').textContent = `Hello ${emailLocalPart(user.email)}!`;
      events.clear();
      await subscribe(session.access_token);
      await refreshCredits();
    } else {
      showing = null;
      if (channel) await supabase.removeChannel(channel);
      channel = null;
      waiter.cleanup();
      events.clear();
      $('credit-count').textContent = '—';
      $('home-view').hidden = true;
      $('auth-view').hidden = false;
      $('auth-form').reset();
      hideAlert($('auth-alert'));
    }
  }

  supabase.auth.onAuthStateChange((event, session) => {
    // Never await supabase calls inside this callback (supabase-js holds its auth lock here).
    if (event === 'SIGNED_IN' || event === 'SIGNED_OUT') setTimeout(refresh, 0);
    if (event === 'TOKEN_REFRESHED' && session) supabase.realtime.setAuth(session.access_token);
  });

  $('sign-out').addEventListener('click', async () => {
    await supabase.auth.signOut();
    await refresh();
  });

  // ---- messages (contracts.md 7.3; direct messages resolve the recipient by e-mail) ----
  for (const radio of document.querySelectorAll('input[name="visibility"]')) {
    radio.addEventListener('change', () => {
      const direct = document.querySelector('input[name="visibility"]:checked').value === 'direct';
      $('recipient-email').disabled = !direct;
      $('message-input').placeholder = direct ? 'Write a direct message...' : 'Broadcast a public message...';
    });
  }

  $('message-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const message = $('message-input').value.trim();
    if (!message) return;
    const button = $('message-send');
    button.textContent = 'Sending...';
    button.disabled = true;
    hideAlert($('message-alert'));
    try {
      const visibility = document.querySelector('input[name="visibility"]:checked').value;
      let recipientId = null;
      if (visibility === 'direct') {
        const email = $('recipient-email').value.trim();
        if (!email) throw new Error('Enter the e-mail address of the recipient.');
        const { data, error } = await supabase.rpc('user_id_by_email', { email });
        if (error) throw new Error(`Could not look up ${email}: ${error.message}`);
        if (!data) throw new Error(`No user with the e-mail address ${email}.`);
        recipientId = data;
      }
      const { data: { session } } = await supabase.auth.getSession();
      if (!session) throw new Error('Your session has ended; sign in again.');
      await sendMessage(config.gatewayUrl, session.access_token, {
        userId: currentUser.id, email: currentUser.email, message, visibility, recipientId,
      });
      $('message-input').value = '';
    } catch (error) {
      showAlert($('message-alert'), error.message);
    } finally {
      button.textContent = 'Send';
      button.disabled = false;
    }
  });

  setMode(false);
  await refresh();
}

start().catch((error) => {
  console.error(error);
  showAlert($('fatal'), `The app failed to start: ${error.message}`);
});
