// Web Push on this device: ask permission (only after the user pressed the button), subscribe
// through the service worker with the server's VAPID key, and give the subscription to the server.
import { get, post } from './api';
import { base64UrlToBytes } from './notifyRules';

export type PushState =
  /** This browser has no service worker, no Push API or no Notification API. */
  | 'unsupported'
  /** The user (or the browser) refused notifications for this site. */
  | 'denied'
  | 'off'
  | 'on';

export function pushSupported(): boolean {
  return typeof window !== 'undefined' && 'serviceWorker' in navigator && 'PushManager' in window
    && 'Notification' in window && window.isSecureContext;
}

async function registration(): Promise<ServiceWorkerRegistration | null> {
  if (!pushSupported()) return null;
  // Registered on load in production builds (main.tsx); none in `npm run dev`.
  const found = await navigator.serviceWorker.getRegistration();
  return found ? navigator.serviceWorker.ready : null;
}

export async function pushState(): Promise<PushState> {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const reg = await registration();
  if (!reg) return 'unsupported';
  const subscription = await reg.pushManager.getSubscription();
  return subscription && Notification.permission === 'granted' ? 'on' : 'off';
}

/** Turns push on for this device; says what stands in the way otherwise. */
export async function enablePush(): Promise<PushState> {
  if (!pushSupported()) return 'unsupported';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'denied' : 'off';
  const reg = await registration();
  if (!reg) return 'unsupported';
  const { public_key: key } = await get<{ public_key: string }>('/api/push/key');
  let subscription = await reg.pushManager.getSubscription();
  if (!subscription) {
    subscription = await reg.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: base64UrlToBytes(key),
    });
  }
  await post('/api/push/subscriptions', subscription.toJSON());
  return 'on';
}

/** Turns push off for this device (the server forgets the subscription too). */
export async function disablePush(): Promise<PushState> {
  const reg = await registration();
  const subscription = reg ? await reg.pushManager.getSubscription() : null;
  if (subscription) {
    await post('/api/push/subscriptions/remove', { endpoint: subscription.endpoint });
    await subscription.unsubscribe();
  }
  return 'off';
}
