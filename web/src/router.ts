// Client-side routing on the History API. Links stay real <a href>; a click on a
// same-origin link without modifier keys is turned into pushState here.
import { useEffect, useState } from 'preact/hooks';
import { arrivalOf, periodDays, withVia } from './analyticsRules';

type Listener = (path: string) => void;
const listeners = new Set<Listener>();

function currentPath(): string {
  return location.pathname + location.search;
}

function notify(): void {
  const path = currentPath();
  for (const listener of listeners) listener(path);
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === currentPath()) {
    notify();
    return;
  }
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.scrollTo(0, 0);
  notify();
}

/** A local path that is safe to follow after sign-in (no open redirect). */
export function safeNext(next: string | null): string {
  if (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/api')) return next;
  return '/';
}

export function installLinkInterception(): void {
  window.addEventListener('popstate', notify);
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const target = event.target as Element | null;
    const anchor = target?.closest('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api')) return;
    // In-page anchors (the skip link) keep the browser's own behaviour.
    if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
    event.preventDefault();
    // A link that says where it is (`data-via="home"` on the home page's cards) tells the space's
    // page how the person came, for the host's analytics; its href stays clean for copying.
    const via = arrivalOf(anchor.dataset.via ?? null);
    const to = url.pathname + url.search + url.hash;
    navigate(via ? withVia(to, via) : to);
  });
}

export function usePath(): string {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    listeners.add(setPath);
    return () => {
      listeners.delete(setPath);
    };
  }, []);
  return path;
}

export type Route =
  | { name: 'home' }
  | { name: 'signin'; next: string }
  | { name: 'signup'; next: string }
  | { name: 'new' }
  | { name: 'profile'; handle: string }
  | { name: 'follows'; handle: string; which: 'followers' | 'following' }
  | { name: 'search'; q: string }
  | { name: 'space'; id: number }
  | { name: 'replay'; id: number }
  | { name: 'clip'; id: string }
  | { name: 'notices' }
  | { name: 'notifications' }
  | { name: 'notification-settings' }
  | { name: 'messages' }
  | { name: 'thread'; handle: string }
  | { name: 'space-analytics'; id: number }
  | { name: 'analytics'; days: number }
  | { name: 'admin'; tab: AdminTab; state: string; kind: string; reason: string }
  | { name: 'not-found' };

export type AdminTab = 'reports' | 'accounts' | 'audit';
const ADMIN_TABS: readonly string[] = ['reports', 'accounts', 'audit'];

export function matchRoute(path: string): Route {
  const url = new URL(path, location.origin);
  const p = url.pathname.replace(/\/+$/, '') || '/';
  const next = safeNext(url.searchParams.get('next'));
  if (p === '/') return { name: 'home' };
  if (p === '/signin') return { name: 'signin', next };
  if (p === '/signup') return { name: 'signup', next };
  if (p === '/new') return { name: 'new' };
  if (p === '/search') return { name: 'search', q: url.searchParams.get('q') ?? '' };
  if (p === '/notices') return { name: 'notices' };
  if (p === '/notifications') return { name: 'notifications' };
  if (p === '/settings/notifications') return { name: 'notification-settings' };
  if (p === '/messages') return { name: 'messages' };
  if (p === '/analytics') return { name: 'analytics', days: periodDays(url.search) };
  if (p === '/admin') {
    const tab = url.searchParams.get('tab') ?? 'reports';
    const param = (name: string) => url.searchParams.get(name) ?? '';
    return {
      name: 'admin',
      tab: (ADMIN_TABS.includes(tab) ? tab : 'reports') as AdminTab,
      state: param('state'),
      kind: param('kind'),
      reason: param('reason'),
    };
  }
  let m = /^\/u\/([A-Za-z0-9_]{1,30})$/.exec(p);
  if (m) return { name: 'profile', handle: m[1] };
  m = /^\/u\/([A-Za-z0-9_]{1,30})\/(followers|following)$/.exec(p);
  if (m) return { name: 'follows', handle: m[1], which: m[2] as 'followers' | 'following' };
  m = /^\/messages\/([A-Za-z0-9_]{1,30})$/.exec(p);
  if (m) return { name: 'thread', handle: m[1] };
  m = /^\/s\/(\d{1,15})$/.exec(p);
  if (m) return { name: 'space', id: Number(m[1]) };
  m = /^\/s\/(\d{1,15})\/analytics$/.exec(p);
  if (m) return { name: 'space-analytics', id: Number(m[1]) };
  m = /^\/(?:spaces|s)\/(\d{1,15})\/replay$/.exec(p);
  if (m) return { name: 'replay', id: Number(m[1]) };
  m = /^\/clips\/([A-Za-z0-9_-]{1,32})$/.exec(p);
  if (m) return { name: 'clip', id: m[1] };
  return { name: 'not-found' };
}
