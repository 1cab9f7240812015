// The media intents of the gateway (contracts.md 3.1.7) and the notification waiter they are
// answered through. The intents need the media sagas, which a later issue builds; the module is
// here so the app and its browser tests share one client for them.
import { stripTrailingSlashes } from './format.js';

export { createNotificationWaiter } from './waiter.js';

export class InsufficientCreditsError extends Error {
  constructor() {
    super('Insufficient credits to upload.');
    this.name = 'InsufficientCreditsError';
  }
}

async function postIntent(gatewayUrl, token, kind, body) {
  const response = await fetch(`${stripTrailingSlashes(gatewayUrl)}/api/v1/media/${kind}-intent`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (response.status === 402) throw new InsufficientCreditsError();
  // Exactly 202: the gateway accepted the intent and the answer comes as a notification.
  if (response.status !== 202) {
    throw new Error(`${kind} intent refused (${response.status}): ${await response.text()}`);
  }
  const { request_id: requestId } = await response.json();
  if (typeof requestId !== 'string' || requestId === '') throw new Error(`${kind} intent: no request_id`);
  return requestId;
}

export function requestUploadIntent(gatewayUrl, token, { fileName, fileSize, mediaType }) {
  return postIntent(gatewayUrl, token, 'upload', { file_name: fileName, file_size: fileSize, media_type: mediaType });
}

export function requestDownloadIntent(gatewayUrl, token, filePath) {
  return postIntent(gatewayUrl, token, 'download', { file_path: filePath });
}

export function requestDeleteIntent(gatewayUrl, token, filePath) {
  return postIntent(gatewayUrl, token, 'delete', { file_path: filePath });
}
