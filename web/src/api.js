// Calls to the gateway (contracts.md 3.1.4): events carry the caller's token, and the gateway
// takes the identity from it, never from the body.
import { stripTrailingSlashes } from './format.js';

export async function sendMessage(gatewayUrl, token, { userId, email, message, visibility, recipientId }) {
  const response = await fetch(`${stripTrailingSlashes(gatewayUrl)}/api/v1/events/message`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({
      user_id: userId,
      email,
      message,
      timestamp: new Date().toISOString(),
      visibility,
      recipient_id: recipientId ?? null,
    }),
  });
  if (!response.ok) throw new Error(`API Error: ${(await response.text()) || response.status}`);
}
