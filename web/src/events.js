// How each notification type reads in the live events pane (contracts.md 4.10 and 7.7). Every
// string here ends up in textContent, never in HTML.
import { emailLocalPart, formatTime, parsePayload } from './format.js';

export function describeNotification(row) {
  let payload;
  try {
    payload = parsePayload(row.payload);
  } catch {
    payload = {};
  }
  const when = formatTime(row.event_time);
  switch (row.event_type) {
    case 'identity.signup': return `🎉 Signed up: ${when}`;
    case 'identity.login': return `🚀 Logged in: ${when}`;
    case 'identity.signout': return `👋 Signed out: ${when}`;
    case 'user.message': {
      const direct = row.visibility === 'direct' ? ' (direct)' : '';
      return `💬 ${emailLocalPart(payload.email)}${direct}: ${payload.message ?? ''}`;
    }
    case 'credit.balance_changed': {
      const amount = Number(payload.amount);
      const sign = amount > 0 ? '+' : '';
      const reason = payload.reason ? ` (${String(payload.reason).replaceAll('_', ' ')})` : '';
      return Number.isFinite(amount) ? `⚡ Credits ${sign}${amount}${reason}` : `⚡ Credits changed: ${when}`;
    }
    case 'media.upload_ready': return `📤 Upload ready: ${payload.file_path ?? ''}`;
    case 'media.upload_rejected': return `❌ Upload rejected: ${payload.reason ?? ''}`;
    case 'media.upload_completed': return `✅ Upload complete: ${payload.file_name ?? ''}`;
    case 'media.upload_expired': return `⏰ Upload expired: ${payload.file_path ?? ''}`;
    case 'media.upload_failed': return `❌ Upload failed: ${payload.failure_reason ?? 'unknown'}`;
    case 'media.download_ready': return `📥 Download ready: ${payload.file_path ?? ''}`;
    case 'media.download_rejected': return `❌ Download rejected: ${payload.reason ?? ''}`;
    case 'media.file_deleted': return `🗑️ File deleted: ${payload.file_name ?? ''}`;
    case 'media.delete_rejected': return `❌ Delete rejected: ${payload.reason ?? ''}`;
    default: return `📌 ${row.event_type}: ${when}`;
  }
}

// The pane's list: newest first, at most `limit` entries, each row once (the REST prefetch and
// the realtime subscription overlap on purpose, so the same row can arrive twice).
export function createEventList(listElement, emptyElement, limit = 50) {
  const seen = new Set();
  function render(row, position) {
    if (row.id !== undefined && seen.has(row.id)) return false;
    if (row.id !== undefined) seen.add(row.id);
    const item = document.createElement('li');
    item.className = `event ${String(row.event_type).replace(/[^a-z_.]/g, '').replaceAll('.', '-')}`;
    item.dataset.eventType = row.event_type;
    item.textContent = describeNotification(row);
    const time = document.createElement('time');
    time.textContent = formatTime(row.created_at ?? row.event_time);
    item.append(time);
    if (position === 'top') listElement.prepend(item);
    else listElement.append(item);
    while (listElement.children.length > limit) listElement.lastElementChild.remove();
    emptyElement.hidden = listElement.children.length > 0;
    return true;
  }
  return {
    // Rows of a history query, newest first.
    showHistory(rows) {
      for (const row of rows) render(row, 'bottom');
      emptyElement.hidden = listElement.children.length > 0;
    },
    // A live row; false when it was already shown.
    add(row) { return render(row, 'top'); },
    clear() {
      seen.clear();
      listElement.replaceChildren();
      emptyElement.hidden = false;
    },
  };
}

// What one notification row does in the home view. The history read at SUBSCRIBED and the live
// stream overlap on purpose, so a row can arrive twice: it is shown and handed to the waiter
// once, but a live credit change reads the balance again even when its row is already shown.
// The balance read at SUBSCRIBED can run before the change's commit while the history read runs
// after it; then the live copy, a duplicate by the time it arrives, is the only later signal,
// and skipping it left the balance at 0 (seen in CI under load).
export function createNotificationHandler({ list, waiter, refreshCredits, warn = console.warn }) {
  return (row) => {
    const shown = list.add(row);
    if (row.event_type === 'credit.balance_changed') refreshCredits();
    if (!shown) return;
    try {
      waiter.handle(row);
    } catch (error) {
      warn('notification with a malformed payload', row.id, error);
    }
  };
}
