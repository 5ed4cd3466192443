// Direct messages: /messages (one line per conversation) and /messages/{handle} (the thread and
// its composer). An invitation to a space shows as a card: "Join", and for an invitation to
// speak, "Accept to speak". New messages arrive over the user's socket (bell.ts).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage, get, post } from '../api';
import { Avatar } from '../components/Avatar';
import { When } from '../components/SpaceCard';
import { loadBell, markBellRead, useBell, useMessageEvents } from '../bell';
import { useApp } from '../context';
import { routeMissing } from '../features';
import { formatWhen } from '../format';
import { usePageTitle } from '../hooks';
import { refusalWords, timeAgo } from '../notifyRules';
import { navigate } from '../router';
import type { Conversation, MessageView, UserBrief } from '../types';
import { SignInPrompt } from './NotFound';

const MESSAGE_MAX = 1000;

function Unavailable() {
  return <p class="meta" data-testid="messages-unavailable">Messages are not available on this server yet.</p>;
}

function preview(message: MessageView): string {
  if (message.invitation && message.space) {
    return `Invitation to ${message.invitation.role === 'speak' ? 'speak in' : 'listen to'} “${message.space.title}”`;
  }
  if (message.space && !message.text) return `Shared “${message.space.title}”`;
  return message.text;
}

export function MessagesPage() {
  const { user } = useApp();
  usePageTitle('Messages');
  const [list, setList] = useState<Conversation[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const [to, setTo] = useState('');
  useEffect(() => {
    if (!user) return undefined;
    let current = true;
    get<{ conversations: Conversation[] }>('/api/messages').then(
      (body) => { if (current) { setList(body.conversations); setProblem(null); } },
      (err: unknown) => {
        if (!current) return;
        if (routeMissing(err)) setMissing(true);
        else setProblem(errorMessage(err));
      },
    );
    return () => { current = false; };
  }, [user, attempt]);
  // A message sent or received anywhere moves its conversation up.
  useMessageEvents(useCallback(() => setAttempt((n) => n + 1), []));

  if (user === null) {
    return (
      <section aria-labelledby="messages-title">
        <h1 id="messages-title">Messages</h1>
        <SignInPrompt what="to see your messages" />
      </section>
    );
  }
  const start = (event: Event) => {
    event.preventDefault();
    const handle = to.trim().replace(/^@/, '');
    if (/^[A-Za-z0-9_]{1,30}$/.test(handle)) navigate(`/messages/${handle}`);
  };
  return (
    <section aria-labelledby="messages-title" class="messages-page">
      <h1 id="messages-title">Messages</h1>
      {missing ? <Unavailable /> : (
        <>
          <form class="inline-form" onSubmit={start} aria-label="New message">
            <label for="message-to">New message to</label>
            <div class="inline-row">
              <input id="message-to" type="text" placeholder="@handle" autoComplete="off" value={to}
                onInput={(e) => setTo(e.currentTarget.value)} />
              <button type="submit" class="small">Write</button>
            </div>
          </form>
          {problem && (
            <p class="field-error">
              {problem} <button type="button" class="secondary small" onClick={() => setAttempt((n) => n + 1)}>Try again</button>
            </p>
          )}
          {list === null && !problem && <p class="loading">Loading…</p>}
          {list && list.length === 0 && <p class="meta">No messages yet.</p>}
          {list && list.length > 0 && (
            <ul class="conversation-list" data-testid="conversations">
              {list.map((c) => (
                <li key={c.with.id} class={`conversation${c.unread > 0 ? ' is-unread' : ''}`} data-testid="conversation"
                  data-user-handle={c.with.handle}>
                  <Avatar user={c.with} size="sm" />
                  <a href={`/messages/${c.with.handle}`} class="conversation-link">
                    <span class="conversation-name">
                      <strong>{c.with.display_name}</strong> <span class="handle">@{c.with.handle}</span>
                      {c.unread > 0 && <span class="badge count-badge">{c.unread}<span class="sr-only"> unread</span></span>}
                    </span>
                    <span class="conversation-last">{c.last.sender.id === user?.id ? 'You: ' : ''}{preview(c.last)}</span>
                  </a>
                  <time class="meta" dateTime={c.last.created_at} title={formatWhen(c.last.created_at)}>{timeAgo(c.last.created_at)}</time>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

/** Why a thread takes no message, as a sentence about them (the refusal words name no one). */
function threadRefusal(reason: string): string {
  if (reason === 'dm_closed') return 'they take no direct messages';
  if (reason === 'not_followed') return 'they take messages only from people they follow';
  return refusalWords(reason);
}

/** A space in a message: what it is, and for an invitation, joining it. */
function SpaceInMessage({ message, mine }: { message: MessageView; mine: boolean }) {
  const { showError, announce } = useApp();
  const [busy, setBusy] = useState(false);
  const space = message.space!;
  const invitation = message.invitation;
  const open = space.state === 'live' || space.state === 'scheduled';
  const accept = async () => {
    setBusy(true);
    showError(null);
    try {
      const body = await post<{ space_id: number }>(`/api/messages/${message.id}/accept`);
      announce('Invitation accepted');
      navigate(`/s/${body.space_id ?? space.id}?via=message`);
    } catch (err) {
      showError(errorMessage(err));
      setBusy(false);
    }
  };
  return (
    <div class="card message-space" data-testid={invitation ? 'invitation-card' : 'message-space'} data-state={space.state}>
      {invitation && (
        <p class="invitation-what">
          {mine ? 'You invited them to ' : 'Invites you to '}
          {invitation.role === 'speak' ? 'speak in' : 'listen to'}
        </p>
      )}
      <p class="message-space-title"><strong><a href={`/s/${space.id}`} data-via="message">{space.title}</a></strong></p>
      <p class="meta">
        Hosted by {space.host.display_name} <span class="handle">@{space.host.handle}</span>
      </p>
      {/* Its own line: after the host on one line, a narrow card left a lone "·" or date. */}
      <p class="meta">
        {space.state === 'live' && <span class="badge live">Live</span>}
        {space.state === 'scheduled' && <>Starts <When iso={space.scheduled_for} /></>}
        {space.state === 'ended' && 'Ended'}
        {space.state === 'canceled' && 'Canceled'}
      </p>
      {!mine && open && (
        <div class="actions">
          <a class="button small secondary" href={`/s/${space.id}`} data-via="message">{space.state === 'live' ? 'Join' : 'See the space'}</a>
          {invitation?.role === 'speak' && !invitation.accepted && (
            <button type="button" class="small" disabled={busy} onClick={() => void accept()}>Accept to speak</button>
          )}
          {invitation?.accepted && <span class="hint">Accepted</span>}
        </div>
      )}
      {mine && invitation?.accepted && <p class="hint">Accepted</p>}
    </div>
  );
}

export function ThreadPage({ handle }: { handle: string }) {
  const { user, showError } = useApp();
  const [other, setOther] = useState<UserBrief | null>(null);
  const [messages, setMessages] = useState<MessageView[] | null>(null);
  const [canSend, setCanSend] = useState(true);
  const [why, setWhy] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [missing, setMissing] = useState<'route' | 'user' | null>(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const listRef = useRef<HTMLOListElement>(null);
  usePageTitle(other ? `Messages with ${other.display_name}` : 'Messages');
  const path = `/api/messages/${encodeURIComponent(handle)}`;

  useEffect(() => {
    if (!user) return undefined;
    let current = true;
    get<{ with: UserBrief; messages: MessageView[]; can_send: boolean; cannot_send_reason: string | null }>(path).then(
      (body) => {
        if (!current) return;
        setOther(body.with);
        setMessages(body.messages);
        setCanSend(body.can_send);
        setWhy(body.cannot_send_reason);
        setProblem(null);
        if (body.messages.some((m) => !m.read && m.sender.id !== user.id)) {
          post(`${path}/read`).catch(() => undefined);
        }
      },
      (err: unknown) => {
        if (!current) return;
        if (routeMissing(err)) setMissing('route');
        else if (err instanceof ApiError && err.status === 404) setMissing('user');
        else setProblem(errorMessage(err));
      },
    );
    return () => { current = false; };
  }, [user, path, attempt]);

  // New messages of this conversation, as they come (deduped by id).
  useMessageEvents(useCallback((message: MessageView) => {
    const handles = [message.sender.handle.toLowerCase(), message.recipient.handle.toLowerCase()];
    if (!handles.includes(handle.toLowerCase())) return;
    setMessages((list) => (list && !list.some((m) => m.id === message.id) ? [...list, message] : list));
    if (user && message.sender.id !== user.id) post(`${path}/read`).catch(() => undefined);
  }, [handle, path, user]));

  // Reading the thread reads the bell's notifications of its messages too.
  const bell = useBell();
  useEffect(() => {
    if (user && !bell.loaded) loadBell().catch(() => undefined);
  }, [user]);
  useEffect(() => {
    const link = `/messages/${handle}`.toLowerCase();
    const ids = bell.items.filter((n) => !n.read && n.link.toLowerCase() === link).map((n) => n.id);
    if (ids.length > 0 && messages !== null) markBellRead(ids).catch(() => undefined);
  }, [bell, handle, messages !== null]);

  // The newest in view.
  useEffect(() => {
    const list = listRef.current;
    if (list) list.scrollTop = list.scrollHeight;
  }, [messages?.length]);

  if (user === null) {
    return (
      <section aria-labelledby="thread-title">
        <h1 id="thread-title">Messages</h1>
        <SignInPrompt what="to see your messages" />
      </section>
    );
  }
  const send = async (event: Event) => {
    event.preventDefault();
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    showError(null);
    try {
      const answer = await post<{ message: MessageView }>(path, { text: body });
      setText('');
      setMessages((list) => (list && !list.some((m) => m.id === answer.message.id) ? [...list, answer.message] : list));
    } catch (err) {
      showError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="thread-title" class="thread-page">
      <p class="back-link"><a href="/messages">← All messages</a></p>
      <div class="thread-head">
        {other && <Avatar user={other} size="md" />}
        <h1 id="thread-title">
          {other ? other.display_name : `@${handle}`}
          {other && <span class="handle"> <a href={`/u/${other.handle}`}>@{other.handle}</a></span>}
        </h1>
      </div>
      {missing === 'route' && <Unavailable />}
      {missing === 'user' && <p>Nobody has the handle @{handle}. <a href="/messages">Back to messages</a>.</p>}
      {problem && (
        <p class="field-error">
          {problem} <button type="button" class="secondary small" onClick={() => setAttempt((n) => n + 1)}>Try again</button>
        </p>
      )}
      {!missing && messages === null && !problem && <p class="loading">Loading…</p>}
      {messages && (
        <>
          {messages.length === 0 && <p class="meta">{canSend ? 'No messages yet. Say hello.' : 'No messages yet.'}</p>}
          <ol class="message-list" ref={listRef} data-testid="messages" aria-label="Messages, oldest first">
            {messages.map((m) => {
              const mine = m.sender.id === user?.id;
              return (
                <li key={m.id} class={`message${mine ? ' is-mine' : ''}`} data-testid="message" data-message-id={m.id}>
                  <p class="sr-only">{mine ? 'You' : m.sender.display_name}:</p>
                  {m.text && <p class="message-text">{m.text}</p>}
                  {m.space && <SpaceInMessage message={m} mine={mine} />}
                  <time class="meta" dateTime={m.created_at} title={formatWhen(m.created_at)}>{timeAgo(m.created_at)}</time>
                </li>
              );
            })}
          </ol>
          {canSend ? (
            <form class="composer" onSubmit={send} aria-label="Write a message">
              <label for="message-text" class="sr-only">Message</label>
              <textarea id="message-text" rows={2} maxLength={MESSAGE_MAX} value={text} placeholder="Write a message"
                onInput={(e) => setText(e.currentTarget.value)}
                onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) void send(e); }} />
              <button type="submit" disabled={busy || !text.trim()}>Send</button>
            </form>
          ) : (
            <p class="hint" data-testid="cannot-send">You can’t message @{handle}{why ? `: ${threadRefusal(why)}` : ''}.</p>
          )}
        </>
      )}
    </section>
  );
}
