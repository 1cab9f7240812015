// Correlates asynchronous notifications with the request that caused them (contracts.md 7.8).
import { parsePayload } from './format.js';

export function createNotificationWaiter() {
  const entries = new Map();  // key -> entry; one entry may be registered under several keys

  function unregister(entry) {
    clearTimeout(entry.timer);
    for (const key of entry.keys) if (entries.get(key) === entry) entries.delete(key);
  }

  return {
    // Resolves with the first notification of one of `types` whose payload's request_id or
    // file_path is one of `keys`; rejects after `timeoutMs`.
    waitFor(keys, types, timeoutMs) {
      return new Promise((resolve, reject) => {
        const entry = { keys: [...keys], types: new Set(types), resolve, reject };
        entry.timer = setTimeout(() => {
          unregister(entry);
          reject(new Error(`Notification timeout for request ${entry.keys[0]}`));
        }, timeoutMs);
        for (const key of entry.keys) entries.set(key, entry);
      });
    },
    // Feeds one notification row; returns whether a waiter took it.
    handle(row) {
      const payload = parsePayload(row.payload);
      for (const key of [payload.request_id, payload.file_path]) {
        if (key === undefined || key === null) continue;
        const entry = entries.get(key);
        if (entry && entry.types.has(row.event_type)) {
          unregister(entry);
          entry.resolve(row);
          return true;
        }
      }
      return false;
    },
    cleanup() {
      const pending = new Set(entries.values());
      entries.clear();
      for (const entry of pending) {
        clearTimeout(entry.timer);
        entry.reject(new Error('Notification waiter cleaned up'));
      }
    },
    get pending() { return new Set(entries.values()).size; },
  };
}
