// Pure helpers of the web client (contracts.md 7.9), unit-tested in web/test.

export const allowedMediaTypes = Object.freeze([
  'image/jpeg', 'image/png', 'image/gif', 'image/webp',
  'video/mp4', 'video/webm', 'video/quicktime',
  'audio/mpeg', 'audio/wav',
]);

// Base-1024 units with at most one decimal and no trailing ".0": 512 -> "512 B", 1536 -> "1.5 KB".
export function formatSize(bytes) {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = Math.round(value * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)} ${units[unit]}`;
}

// Exact and case-sensitive: whitespace-padded or differently cased types are refused.
export function isAllowedMediaType(type) {
  return typeof type === 'string' && allowedMediaTypes.includes(type);
}

export function mediaCategory(type) {
  const prefix = typeof type === 'string' ? type.split('/')[0] : '';
  return ['image', 'video', 'audio'].includes(prefix) ? prefix : 'unknown';
}

export function emailLocalPart(email) {
  if (typeof email !== 'string' || email === '') return 'someone';
  const at = email.indexOf('@');
  return at > 0 ? email.slice(0, at) : email;
}

export function stripTrailingSlashes(url) {
  return url.replace(/\/+$/, '');
}

// A notification's payload column is JSON text; missing or null means {} (contracts.md 7.8).
// Malformed JSON throws: the caller decides how to show it.
export function parsePayload(payload) {
  if (payload === undefined || payload === null || payload === '') return {};
  if (typeof payload === 'object') return payload;
  const parsed = JSON.parse(payload);
  return parsed === null ? {} : parsed;
}

export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso ?? '') : date.toLocaleString();
}
