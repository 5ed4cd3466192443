import { useEffect, useState } from 'preact/hooks';

/** navigator.onLine, following the browser's online/offline events. */
export function useOnline(): boolean {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }, []);
  return online;
}

/** A line at the top of every page while the browser is offline. */
export function OfflineNotice() {
  return (
    <p class="offline-notice" role="status" data-testid="offline">
      You are offline. Live spaces and updates come back when you are online again.
    </p>
  );
}

/**
 * The page when the app opened without reaching the server (offline: the service worker served
 * the app from its cache). The app asks again by itself, and at once when back online.
 */
export function OfflinePage({ onRetry }: { onRetry: () => void }) {
  return (
    <section aria-labelledby="offline-title" data-testid="offline-page">
      <h1 id="offline-title">You are offline</h1>
      <p>
        Parley cannot be reached, so spaces cannot be shown or played. Check your connection:
        this page carries on by itself once Parley can be reached again.
      </p>
      <button type="button" onClick={onRetry}>Try again</button>
    </section>
  );
}
