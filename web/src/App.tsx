import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, get, instanceRole, post, errorMessage } from './api';
import { AppContext, type AppContextValue } from './context';
import { MiniPlayer } from './components/MiniPlayer';
import { NowPlaying } from './components/NowPlaying';
import { OfflineNotice, OfflinePage, useOnline } from './components/Offline';
import { leaveActiveRoom, setLiveAnnouncer } from './live';
import { matchRoute, navigate, usePath } from './router';
import { backoffDelayMs } from './roomSocket';
import type { InstanceRole, Profile } from './types';
import { badgeText, unreadWords } from './moderationRules';
import { refreshUnread, setUnread, useUnread } from './notices';
import { HomePage } from './pages/Home';
import { AuthPage } from './pages/Auth';
import { NewSpacePage } from './pages/NewSpace';
import { ProfilePage } from './pages/Profile';
import { FollowsPage } from './pages/Follows';
import { SearchPage } from './pages/Search';
import { searchHref } from './searchRules';
import { RoomPage } from './pages/Room';
import { ReplayPage } from './pages/Replay';
import { ClipPage } from './pages/Clip';
import { NotFoundPage } from './pages/NotFound';
import { NoticesPage } from './pages/Notices';
import { NotificationsPage } from './pages/Notifications';
import { NotificationSettingsPage } from './pages/NotificationSettings';
import { MessagesPage, ThreadPage } from './pages/Messages';
import { onNotification, startBell, useBell } from './bell';
import { bellBadge, bellWords } from './notifyRules';
import { useHasEndpoint } from './features';
import { AdminPage } from './pages/Admin';
import { HostAnalyticsPage, SpaceAnalyticsPage } from './pages/Analytics';

interface Announcement { id: number; text: string }

/** The bell: the notifications page, with the unread count (kept live by the user's socket). */
function BellLink({ current }: { current: boolean }) {
  const bell = useBell();
  return (
    <a href="/notifications" class="bell-link" aria-current={current ? 'page' : undefined} data-testid="bell"
      data-unread={bell.unread} data-connected={bell.connected ? 'true' : 'false'}>
      <svg class="bell-icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
        <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" />
      </svg>
      <span class="bell-label">Notifications</span>
      {bell.unread > 0 && (
        <span class="badge count-badge" data-testid="bell-badge">
          <span aria-hidden="true">{bellBadge(bell.unread)}</span>
        </span>
      )}
      <span class="sr-only"> ({bellWords(bell.unread)})</span>
    </a>
  );
}

/** The header's search box: on submit, the search page for what was typed (it checks it). */
function HeaderSearch() {
  const [text, setText] = useState('');
  const submit = (event: Event) => {
    event.preventDefault();
    navigate(searchHref(text));
    setText('');
  };
  return (
    <form role="search" aria-label="Site" class="header-search" onSubmit={submit}>
      <label for="header-search-q" class="sr-only">Search people and spaces</label>
      <input id="header-search-q" type="search" name="q" value={text} placeholder="Search people and spaces"
        autoComplete="off" enterKeyHint="search" onInput={(e) => setText(e.currentTarget.value)} />
      <button type="submit" class="small">Search</button>
    </form>
  );
}

export function App() {
  const path = usePath();
  const route = useMemo(() => matchRoute(path), [path]);
  const [user, setUser] = useState<Profile | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [announcements, setAnnouncements] = useState<Announcement[]>([]);
  const nextAnnouncementId = useRef(1);
  const mainRef = useRef<HTMLElement>(null);
  const firstRoute = useRef(true);
  const online = useOnline();
  /** GET /api/me did not reach the server (offline: the app came from the service worker). */
  const [unreachable, setUnreachable] = useState(false);
  const [meAttempt, setMeAttempt] = useState(0);
  /** The instance role (the desk's link shows for staff); null until known. */
  const [role, setRole] = useState<InstanceRole | null>(null);
  const unread = useUnread();
  // Messages come with a newer server: the link shows once GET /api/messages answers.
  const hasMessages = useHasEndpoint(user ? '/api/messages' : null);

  useEffect(() => {
    get<{ user: Profile }>('/api/me')
      .then((body) => {
        setUnreachable(false);
        setUser(body.user);
      })
      .catch((err: unknown) => {
        // Offline: who I am is still unknown (not signed out); asked again once back online.
        if (err instanceof ApiError && err.code === 'network') {
          setUnreachable(true);
          return;
        }
        setUnreachable(false);
        setUser(null);
        if (!(err instanceof ApiError && err.status === 401)) setError(errorMessage(err));
      });
  }, [meAttempt]);

  // Still unreachable: ask again, backing off, and at once when the browser is back online.
  useEffect(() => {
    if (!unreachable) return undefined;
    const timer = window.setTimeout(() => setMeAttempt((n) => n + 1), backoffDelayMs(meAttempt));
    return () => window.clearTimeout(timer);
  }, [unreachable, meAttempt]);
  useEffect(() => {
    if (online && unreachable) setMeAttempt((n) => n + 1);
  }, [online]);

  // Who may use the admin desk: GET /api/me says one's instance role.
  const userId = user ? user.id : null;
  useEffect(() => {
    setRole(null);
    setUnread(0);
    if (userId === null) return undefined;
    let current = true;
    instanceRole().then((found) => { if (current) setRole(found); }, () => undefined);
    return () => { current = false; };
  }, [userId]);
  // The bell's socket: one per tab, for whoever is signed in.
  useEffect(() => {
    startBell(userId);
  }, [userId]);
  // The unread notices: asked again on each page (a report's outcome arrives while browsing).
  useEffect(() => {
    if (userId !== null) void refreshUnread();
  }, [userId, path]);

  const announce = useCallback((text: string) => {
    const id = nextAnnouncementId.current++;
    // Keep a short log: screen readers read each appended line once.
    setAnnouncements((list) => [...list.slice(-4), { id, text }]);
  }, []);

  // A new notification is said once through the live region.
  useEffect(() => onNotification((n) => announce(`New notification: ${n.text}`)), [announce]);

  // The connected space speaks through the same live region while no room page is open.
  useEffect(() => setLiveAnnouncer(announce), [announce]);

  const showError = useCallback((message: string | null) => setError(message), []);

  // A new page: clear the old error and move focus to the new page's heading.
  useEffect(() => {
    setError(null);
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    const timer = window.setTimeout(() => {
      const heading = mainRef.current?.querySelector<HTMLElement>('h1');
      if (heading) {
        heading.setAttribute('tabindex', '-1');
        heading.focus();
      } else {
        mainRef.current?.focus();
      }
    }, 0);
    return () => window.clearTimeout(timer);
  }, [path]);

  const context: AppContextValue = useMemo(
    () => ({ user, setUser, showError, announce }),
    [user, showError, announce],
  );

  const signOut = async () => {
    try {
      await post('/api/auth/signout');
      leaveActiveRoom();
      setUser(null);
      announce('Signed out');
      navigate('/signin');
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  let page;
  switch (route.name) {
    case 'home': page = <HomePage />; break;
    case 'signin': page = <AuthPage mode="signin" next={route.next} />; break;
    case 'signup': page = <AuthPage mode="signup" next={route.next} />; break;
    case 'new': page = <NewSpacePage />; break;
    case 'profile': page = <ProfilePage key={route.handle} handle={route.handle} />; break;
    case 'follows': page = <FollowsPage key={`${route.handle}/${route.which}`} handle={route.handle} which={route.which} />; break;
    case 'search': page = <SearchPage q={route.q} />; break;
    case 'space': page = <RoomPage key={route.id} spaceId={route.id} />; break;
    case 'replay': page = <ReplayPage key={route.id} spaceId={route.id} />; break;
    case 'clip': page = <ClipPage key={route.id} clipId={route.id} />; break;
    case 'notices': page = <NoticesPage />; break;
    case 'notifications': page = <NotificationsPage />; break;
    case 'notification-settings': page = <NotificationSettingsPage />; break;
    case 'messages': page = <MessagesPage />; break;
    case 'thread': page = <ThreadPage key={route.handle} handle={route.handle} />; break;
    case 'space-analytics': page = <SpaceAnalyticsPage key={route.id} spaceId={route.id} />; break;
    case 'analytics': page = <HostAnalyticsPage days={route.days} />; break;
    case 'admin': page = <AdminPage route={route} role={role} />; break;
    default: page = <NotFoundPage />;
  }

  return (
    <AppContext.Provider value={context}>
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="site-header">
        <div class="bar">
          <a class="brand" href="/">Parley</a>
          {route.name !== 'search' && <HeaderSearch />}
          <nav aria-label="Main">
            <ul class="nav-list">
              <li><a href="/" aria-current={route.name === 'home' ? 'page' : undefined}>Home</a></li>
              {user && (
                <>
                  <li><a href="/new" aria-current={route.name === 'new' ? 'page' : undefined}>Start a space</a></li>
                  <li><BellLink current={route.name === 'notifications'} /></li>
                  {hasMessages && <li><a href="/messages" aria-current={route.name === 'messages' || route.name === 'thread' ? 'page' : undefined}>Messages</a></li>}
                  <li>
                    <a href="/notices" aria-current={route.name === 'notices' ? 'page' : undefined} data-testid="nav-notices">
                      Notices
                      {unread > 0 && (
                        <span class="badge count-badge" data-testid="unread-badge">
                          <span aria-hidden="true">{badgeText(unread)}</span>
                          <span class="sr-only"> ({unreadWords(unread)})</span>
                        </span>
                      )}
                    </a>
                  </li>
                  {(role === 'moderator' || role === 'admin') && (
                    <li><a href="/admin" aria-current={route.name === 'admin' ? 'page' : undefined}>Admin</a></li>
                  )}
                  <li>
                    <a href={`/u/${user.handle}`} aria-current={route.name === 'profile' && route.handle.toLowerCase() === user.handle.toLowerCase() ? 'page' : undefined}>
                      Profile<span class="sr-only"> ({user.display_name})</span>
                    </a>
                  </li>
                  <li><button type="button" class="link-button" onClick={signOut}>Sign out</button></li>
                </>
              )}
              {user === null && (
                <>
                  <li><a href="/signin" aria-current={route.name === 'signin' ? 'page' : undefined}>Sign in</a></li>
                  <li><a href="/signup" aria-current={route.name === 'signup' ? 'page' : undefined}>Sign up</a></li>
                </>
              )}
            </ul>
          </nav>
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1}>
        {!online && !(user === undefined && unreachable) && <OfflineNotice />}
        <NowPlaying />
        <div class="alert-region" role="alert" data-testid="alert">
          {error && (
            <div class="alert">
              <p>{error}</p>
              <button type="button" class="secondary small" onClick={() => setError(null)}>Dismiss</button>
            </div>
          )}
        </div>
        {user !== undefined ? page
          : unreachable ? <OfflinePage onRetry={() => setMeAttempt((n) => n + 1)} />
          : <p class="loading">Loading…</p>}
        <div class="sr-only" aria-live="polite" data-testid="announcer">
          {announcements.map((a) => <p key={a.id}>{a.text}</p>)}
        </div>
      </main>
      <MiniPlayer route={route} />
    </AppContext.Provider>
  );
}
