// The host's tools for a space that has not started: edit its title, time and topics
// (PATCH /api/spaces/{id}), name co-hosts ahead (PUT/DELETE /api/spaces/{id}/cohosts/{handle}),
// and for a live or scheduled space, invite people by message (POST /api/spaces/{id}/invitations).
import { useRef, useState } from 'preact/hooks';
import { ApiError, api, errorMessage, post } from '../api';
import { useApp } from '../context';
import { routeMissing } from '../features';
import { focusFirstInvalid, splitErrors, type FieldErrors } from '../forms';
import { parseHandles, refusalWords } from '../notifyRules';
import type { Member, Space, UserBrief } from '../types';
import { Field } from './Field';

function localInputValue(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function EditScheduled({ space, onSaved }: { space: Space; onSaved: (space: Space) => void }) {
  const { showError, announce } = useApp();
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState(space.title);
  const [when, setWhen] = useState(localInputValue(space.scheduled_for));
  const [topics, setTopics] = useState(space.topics.join(', '));
  const [busy, setBusy] = useState(false);
  const [gone, setGone] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const formRef = useRef<HTMLFormElement>(null);
  const idFor = (f: string) => `edit-${f.replace('_', '-')}`;
  if (gone) return null;
  if (!open) {
    return (
      <button type="button" class="secondary" data-testid="edit-space" onClick={() => setOpen(true)}>Edit details</button>
    );
  }
  const submit = async (event: Event) => {
    event.preventDefault();
    showError(null);
    setFieldErrors({});
    const date = new Date(when);
    if (!when || Number.isNaN(date.getTime())) {
      const errors = { scheduled_for: 'Enter a valid date and time.' };
      setFieldErrors(errors);
      focusFirstInvalid(formRef.current, errors, idFor);
      return;
    }
    setBusy(true);
    try {
      const body = await api<{ space: Space }>('PATCH', `/api/spaces/${space.id}`, {
        title: title.trim(),
        topics: topics.split(',').map((t) => t.trim()).filter(Boolean),
        scheduled_for: date.toISOString(),
      });
      onSaved(body.space);
      announce('Space updated');
      setOpen(false);
    } catch (err) {
      if (routeMissing(err)) { setGone(true); return; }
      const { fieldErrors: errors, formError } = splitErrors(err, ['title', 'topics', 'scheduled_for']);
      setFieldErrors(errors);
      showError(formError ?? Object.values(errors)[0] ?? null);
      focusFirstInvalid(formRef.current, errors, idFor);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form ref={formRef} onSubmit={submit} noValidate class="card edit-space" data-testid="edit-space-form" aria-labelledby="edit-space-title">
      <h3 id="edit-space-title">Edit details</h3>
      <Field id="edit-title" label="Title" error={fieldErrors.title}>
        {(d, invalid) => (
          <input id="edit-title" type="text" maxLength={70} value={title} aria-describedby={d} aria-invalid={invalid || undefined}
            onInput={(e) => setTitle(e.currentTarget.value)} />
        )}
      </Field>
      <Field id="edit-scheduled-for" label="Starts at" error={fieldErrors.scheduled_for} hint="In your time zone. People who asked for a reminder are told of the change.">
        {(d, invalid) => (
          <input id="edit-scheduled-for" type="datetime-local" value={when} aria-describedby={d} aria-invalid={invalid || undefined}
            onInput={(e) => setWhen(e.currentTarget.value)} />
        )}
      </Field>
      <Field id="edit-topics" label="Topics" error={fieldErrors.topics} hint="Up to three, separated by commas.">
        {(d, invalid) => (
          <input id="edit-topics" type="text" value={topics} aria-describedby={d} aria-invalid={invalid || undefined}
            onInput={(e) => setTopics(e.currentTarget.value)} />
        )}
      </Field>
      <div class="actions">
        <button type="submit" disabled={busy}>Save changes</button>
        <button type="button" class="secondary" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}

/** Co-hosts named ahead: they moderate with the host once the space is live. */
export function CohostPicker({ spaceId, initial }: { spaceId: number; initial: UserBrief[] | undefined }) {
  const { announce } = useApp();
  const [named, setNamed] = useState<{ handle: string; name: string }[]>(
    (initial ?? []).map((u) => ({ handle: u.handle, name: `${u.display_name} (@${u.handle})` })));
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [gone, setGone] = useState(false);
  if (gone) return null;
  const change = async (handle: string, add: boolean) => {
    setBusy(true);
    setProblem(null);
    try {
      const body = await api<{ member?: Member } | null>(add ? 'PUT' : 'DELETE', `/api/spaces/${spaceId}/cohosts/${encodeURIComponent(handle)}`);
      const who = body?.member?.user;
      const entry = who ? { handle: who.handle, name: `${who.display_name} (@${who.handle})` } : { handle, name: `@${handle}` };
      setNamed((list) => {
        const rest = list.filter((c) => c.handle.toLowerCase() !== handle.toLowerCase());
        return add ? [...rest, entry] : rest;
      });
      announce(add ? `@${handle} is a co-host` : `@${handle} is no longer a co-host`);
      if (add) setText('');
    } catch (err) {
      if (routeMissing(err)) setGone(true);
      else setProblem(err instanceof ApiError && err.status === 404 ? `@${handle}: no such account` : errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: Event) => {
    event.preventDefault();
    const { handles } = parseHandles(text);
    if (handles.length !== 1) { setProblem('Type one handle, like @ann.'); return; }
    void change(handles[0], true);
  };
  return (
    <div class="cohosts" data-testid="cohosts">
      <h3>Co-hosts</h3>
      <p class="hint">Up to two. They are told, and moderate with you once the space is live.</p>
      {named.length > 0 && (
        <ul class="chip-list">
          {named.map((c) => (
            <li key={c.handle} class="chip">
              {c.name}
              <button type="button" class="link-button" disabled={busy} onClick={() => void change(c.handle, false)}>
                Remove<span class="sr-only"> {c.handle} as co-host</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="inline-form" onSubmit={submit}>
        <label for={`cohost-${spaceId}`}>Name a co-host</label>
        <div class="inline-row">
          <input id={`cohost-${spaceId}`} type="text" placeholder="@handle" autoComplete="off" value={text}
            onInput={(e) => setText(e.currentTarget.value)} />
          <button type="submit" class="small" disabled={busy}>Add</button>
        </div>
      </form>
      {problem && <p class="field-error" role="alert">{problem}</p>}
    </div>
  );
}

/** Invite people by message, to listen or to speak. */
export function InvitePeople({ spaceId }: { spaceId: number }) {
  const [text, setText] = useState('');
  const [role, setRole] = useState<'listen' | 'speak'>('listen');
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const [gone, setGone] = useState(false);
  if (gone) return <p class="hint">Inviting by message is not available on this server yet.</p>;
  const submit = async (event: Event) => {
    event.preventDefault();
    const { handles, invalid } = parseHandles(text);
    const found = invalid.map((h) => `${h}: not a handle`);
    setStatus('');
    if (handles.length === 0) { setProblems(found.length ? found : ['Type at least one handle.']); return; }
    setBusy(true);
    try {
      // `sent`: the handles invited (a count from older drafts of the API).
      const body = await post<{ sent: string[] | number; refused: { handle: string; reason: string }[] }>(
        `/api/spaces/${spaceId}/invitations`, { handles, role });
      const sent = Array.isArray(body.sent) ? body.sent.length : body.sent;
      setProblems([...found, ...body.refused.map((r) => `@${r.handle}: ${refusalWords(r.reason)}`)]);
      setStatus(sent > 0 ? `Invited ${sent === 1 ? '1 person' : `${sent} people`}.` : '');
      if (body.refused.length === 0) setText('');
    } catch (err) {
      if (routeMissing(err)) setGone(true);
      else setProblems([...found, errorMessage(err)]);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="invite-people" onSubmit={submit} data-testid="invite-people">
      <Field id={`invite-handles-${spaceId}`} label="Invite people" hint="Handles, separated by commas. They get a message with the space.">
        {(d) => (
          <input id={`invite-handles-${spaceId}`} type="text" placeholder="@ann, @bo" autoComplete="off" value={text}
            aria-describedby={d} onInput={(e) => setText(e.currentTarget.value)} />
        )}
      </Field>
      <fieldset class="inline-choices">
        <legend>To</legend>
        {(['listen', 'speak'] as const).map((r) => (
          <div class="radio" key={r}>
            <input type="radio" id={`invite-role-${r}-${spaceId}`} name={`invite-role-${spaceId}`} checked={role === r} onChange={() => setRole(r)} />
            <label for={`invite-role-${r}-${spaceId}`}>{r === 'listen' ? 'Listen' : 'Speak'}</label>
          </div>
        ))}
      </fieldset>
      <div class="actions">
        <button type="submit" disabled={busy}>Send invitations</button>
        <span role="status" class="hint">{status}</span>
      </div>
      {problems.length > 0 && <ul class="field-error problem-list" role="alert">{problems.map((p) => <li key={p}>{p}</li>)}</ul>}
    </form>
  );
}
