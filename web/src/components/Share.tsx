import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, errorMessage, get, post } from '../api';
import { useApp } from '../context';
import { routeMissing } from '../features';
import { embedCode, parseHandles } from '../notifyRules';
import type { Space, UserBrief } from '../types';
import { Sheet } from './Sheet';

/**
 * Copy an address to the clipboard; where the clipboard is not available, show it selected
 * in a field to copy by hand.
 */
export function CopyLinkButton({ url, label, inputId, inputLabel }: {
  url: string; label: string; inputId: string; inputLabel: string;
}) {
  const [status, setStatus] = useState('');
  const [showFallback, setShowFallback] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  const copy = async () => {
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
      await navigator.clipboard.writeText(url);
      setShowFallback(false);
      setStatus('Link copied to the clipboard.');
    } catch {
      setShowFallback(true);
      setStatus('Copy the selected link with Ctrl+C (⌘C on a Mac).');
      requestAnimationFrame(() => {
        inputRef.current?.focus();
        inputRef.current?.select();
      });
    }
  };

  return (
    <div class="share">
      <button type="button" class="secondary" onClick={() => void copy()}>{label}</button>
      {showFallback && (
        <span class="share-fallback">
          <label for={inputId} class="sr-only">{inputLabel}</label>
          <input id={inputId} ref={inputRef} type="text" readOnly value={url}
            onFocus={(e) => e.currentTarget.select()} />
        </span>
      )}
      <span role="status" class="hint share-status">{status}</span>
    </div>
  );
}

export function ShareButton({ spaceId }: { spaceId: number }) {
  return (
    <CopyLinkButton url={`${location.origin}/s/${spaceId}`} label="Copy link"
      inputId="share-link" inputLabel="Link to this space" />
  );
}

/** "Share to my followers": a repost of the space (PUT/DELETE /api/spaces/{id}/repost). */
function RepostToggle({ spaceId, initial }: { spaceId: number; initial: boolean | undefined }) {
  const { announce } = useApp();
  const [on, setOn] = useState<boolean | null>(initial ?? null);
  const [busy, setBusy] = useState(false);
  const [gone, setGone] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  // Whether I shared it already (GET .../repost), unless the page said so.
  useEffect(() => {
    if (initial !== undefined) return undefined;
    let current = true;
    get<{ reposted: boolean }>(`/api/spaces/${spaceId}/repost`).then(
      (body) => { if (current) setOn(body.reposted); },
      (err: unknown) => { if (current) { if (routeMissing(err)) setGone(true); else setOn(false); } },
    );
    return () => { current = false; };
  }, [spaceId, initial]);
  if (gone || on === null) return null;
  const toggle = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await api(on ? 'DELETE' : 'PUT', `/api/spaces/${spaceId}/repost`);
      announce(on ? 'No longer shared with your followers' : 'Shared with your followers');
      setOn(!on);
    } catch (err) {
      if (routeMissing(err)) setGone(true);
      else setProblem(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="share-row" data-testid="share-repost">
      <button type="button" class={on ? 'secondary' : ''} aria-pressed={on} disabled={busy} onClick={() => void toggle()}>
        {on ? 'Shared with your followers' : 'Share to my followers'}
      </button>
      <p class="hint">{on ? 'It shows on your followers’ home page. Press again to take it back.' : 'It shows on your followers’ home page.'}</p>
      {problem && <p class="field-error" role="alert">{problem}</p>}
    </div>
  );
}

/** "Send to…": the space in people's inboxes (POST /api/messages/{handle} with the space). */
function SendTo({ spaceId }: { spaceId: number }) {
  const { user } = useApp();
  const [followers, setFollowers] = useState<UserBrief[]>([]);
  // The picker suggests my followers (the first page is plenty to type from).
  useEffect(() => {
    if (!user) return undefined;
    let current = true;
    get<{ users: (UserBrief | { user: UserBrief })[] }>(`/api/users/${encodeURIComponent(user.handle)}/followers?limit=50`).then(
      (body) => { if (current) setFollowers(body.users.map((u) => ('user' in u ? u.user : u))); },
      () => undefined,
    );
    return () => { current = false; };
  }, [user]);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const [gone, setGone] = useState(false);
  if (gone) return null;
  const send = async (event: Event) => {
    event.preventDefault();
    const { handles, invalid } = parseHandles(text);
    setStatus('');
    const found = invalid.map((h) => `${h}: not a handle`);
    if (handles.length === 0) {
      setProblems(found.length ? found : ['Type a handle, like @ann.']);
      return;
    }
    setBusy(true);
    const sent: string[] = [];
    for (const handle of handles.slice(0, 10)) {
      try {
        await post(`/api/messages/${encodeURIComponent(handle)}`, { text: '', space_id: spaceId });
        sent.push(`@${handle}`);
      } catch (err) {
        if (routeMissing(err)) { setGone(true); return; }
        const why = err instanceof ApiError && err.status === 404 ? 'no such account' : errorMessage(err);
        found.push(`@${handle}: ${why}`);
      }
    }
    setBusy(false);
    setProblems(found);
    if (sent.length) {
      setStatus(`Sent to ${sent.join(', ')}.`);
      setText('');
    }
  };
  return (
    <form class="share-row send-to" onSubmit={send} data-testid="share-send">
      <label for={`send-to-${spaceId}`}>Send to…</label>
      <div class="inline-row">
        <input id={`send-to-${spaceId}`} type="text" placeholder="@handle, @another" autoComplete="off" value={text}
          list={followers.length ? `send-to-${spaceId}-people` : undefined}
          aria-describedby={`send-to-${spaceId}-hint`} onInput={(e) => setText(e.currentTarget.value)} />
        {followers.length > 0 && (
          <datalist id={`send-to-${spaceId}-people`}>
            {followers.map((f) => <option key={f.id} value={`@${f.handle}`}>{f.display_name}</option>)}
          </datalist>
        )}
        <button type="submit" class="small" disabled={busy}>Send</button>
      </div>
      <p class="hint" id={`send-to-${spaceId}-hint`}>Goes to their messages, with a link to the space.</p>
      <p role="status" class="hint share-status">{status}</p>
      {problems.length > 0 && (
        <ul class="field-error problem-list" role="alert">{problems.map((p) => <li key={p}>{p}</li>)}</ul>
      )}
    </form>
  );
}

/** The embed code for another site, with a copy button. */
function EmbedCode({ spaceId }: { spaceId: number }) {
  const code = embedCode(location.origin, spaceId);
  const [status, setStatus] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);
  const copy = async () => {
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
      await navigator.clipboard.writeText(code);
      setStatus('Embed code copied.');
    } catch {
      ref.current?.focus();
      ref.current?.select();
      setStatus('Copy the selected code with Ctrl+C (⌘C on a Mac).');
    }
  };
  return (
    <details class="share-row embed" data-testid="share-embed">
      <summary>Embed</summary>
      <label for={`embed-${spaceId}`}>Code to put this space on another site</label>
      <textarea id={`embed-${spaceId}`} ref={ref} readOnly rows={4} value={code} class="code"
        onFocus={(e) => e.currentTarget.select()} />
      <div class="actions">
        <button type="button" class="secondary small" onClick={() => void copy()}>Copy embed code</button>
        <span role="status" class="hint share-status">{status}</span>
      </div>
    </details>
  );
}

/**
 * Every way to share a space: its link, the phone's own share sheet (where there is one), the
 * sharer's followers, someone's messages, and an embed for another site.
 */
export function ShareSheet({ space, reposted, onClose }: {
  space: Pick<Space, 'id' | 'title'>; reposted?: boolean; onClose: () => void;
}) {
  const { user } = useApp();
  const url = `${location.origin}/s/${space.id}`;
  const canShare = typeof navigator.share === 'function';
  const nativeShare = async () => {
    try {
      await navigator.share({ title: space.title, url });
    } catch {
      /* dismissed */
    }
  };
  return (
    <Sheet id="share" title="Share" onClose={onClose} testId="share-sheet">
      <p class="hint share-title">{space.title}</p>
      <div class="share-row">
        <CopyLinkButton url={url} label="Copy link" inputId="share-sheet-link" inputLabel="Link to this space" />
      </div>
      {canShare && (
        <div class="share-row">
          <button type="button" class="secondary" data-testid="share-native" onClick={() => void nativeShare()}>Share via…</button>
        </div>
      )}
      {user && <RepostToggle spaceId={space.id} initial={reposted} />}
      {user && <SendTo spaceId={space.id} />}
      <EmbedCode spaceId={space.id} />
    </Sheet>
  );
}
