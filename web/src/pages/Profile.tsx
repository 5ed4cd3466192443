import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, get, errorMessage } from '../api';
import { Avatar } from '../components/Avatar';
import { EditPicture } from '../components/EditPicture';
import { Field } from '../components/Field';
import { ReportDialog } from '../components/ReportDialog';
import { useApp } from '../context';
import { useSpaceFeed } from '../feed';
import { focusFirstInvalid, splitErrors, type FieldErrors } from '../forms';
import { useLoaded, usePageTitle } from '../hooks';
import { usePagedList } from '../paging';
import { ReplayCard, SpaceCard } from '../components/SpaceCard';
import { SubscribeCalendar } from '../components/Reminder';
import { useHasEndpoint } from '../features';
import type { HostedSpaces, Paged, Profile, ReplaySummary } from '../types';
import { SignInPrompt } from './NotFound';

const REPLAYS_PAGE = 10;

/** "Message": once the server has messages. */
function MessageLink({ handle }: { handle: string }) {
  const has = useHasEndpoint('/api/messages');
  if (!has) return null;
  return <a class="button secondary small" href={`/messages/${handle}`} data-testid="message-link">Message</a>;
}

/** The person's spaces: live now, upcoming, and replays (paged). */
function ProfileSpaces({ profile }: { profile: Profile }) {
  const { user } = useApp();
  const handle = encodeURIComponent(profile.handle);
  // Reloaded when following or blocking changes what the viewer may see.
  const who = `${user?.id ?? 'visitor'}:${profile.blocked_by_me}`;
  const [hosted, retryHosted] = useLoaded<HostedSpaces>(`/api/users/${handle}/spaces`, who);
  // Their spaces going live, ending or being scheduled show as it happens (the public feed).
  useSpaceFeed((changed) => {
    if (changed.host.id === profile.id) retryHosted();
  }, retryHosted);
  const [replays, { more, retry }] = usePagedList<ReplaySummary, Paged & { replays: ReplaySummary[] }>(
    `/api/replays?host=${handle}`, (body) => body.replays, who, REPLAYS_PAGE);
  if (profile.blocked_by_me) {
    return <p class="meta">You blocked @{profile.handle}: their spaces are hidden from you.</p>;
  }
  const section = (id: string, title: string, spaces: HostedSpaces['live'] | null, empty: string) => (
    <section aria-labelledby={id} class="space-list">
      <h2 id={id}>{title}</h2>
      {hosted.kind === 'loading' && <p class="loading">Loading…</p>}
      {hosted.kind === 'error' && (
        <p class="field-error">
          {hosted.message} <button type="button" class="secondary small" onClick={retryHosted}>Try again</button>
        </p>
      )}
      {spaces && spaces.length === 0 && <p class="meta">{empty}</p>}
      {spaces && spaces.length > 0 && (
        <ul class="cards" data-testid={id}>
          {spaces.map((s) => <SpaceCard key={s.id} space={s} />)}
        </ul>
      )}
    </section>
  );
  const ready = hosted.kind === 'ready' ? hosted.value : null;
  return (
    <>
      {section('profile-live', 'Live now', ready?.live ?? null, `@${profile.handle} is not live now.`)}
      {section('profile-upcoming', 'Upcoming', ready?.upcoming ?? null, 'No spaces scheduled.')}
      <section aria-labelledby="profile-replays" class="space-list">
        <h2 id="profile-replays">Replays</h2>
        {!replays.loaded && <p class="loading">Loading…</p>}
        {replays.loaded && replays.error === null && replays.items.length === 0 && (
          <p class="meta">No published replays.</p>
        )}
        {replays.items.length > 0 && (
          <ul class="cards" data-testid="profile-replays">
            {replays.items.map((r) => <ReplayCard key={r.space.id} replay={r} />)}
          </ul>
        )}
        {replays.error !== null && (
          <p class="field-error">
            {errorMessage(replays.error)}{' '}
            <button type="button" class="secondary small" onClick={replays.items.length ? more : retry}>Try again</button>
          </p>
        )}
        {replays.error === null && replays.next !== null && (
          <button type="button" class="secondary more" disabled={replays.loading} onClick={more}>
            {replays.loading ? 'Loading…' : 'Show more replays'}
          </button>
        )}
      </section>
    </>
  );
}

function EditProfile({ profile, onSaved }: { profile: Profile; onSaved: (p: Profile) => void }) {
  const { showError, announce } = useApp();
  const [displayName, setDisplayName] = useState(profile.display_name);
  const [bio, setBio] = useState(profile.bio);
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const formRef = useRef<HTMLFormElement>(null);
  const idFor = (f: string) => `profile-${f.replace('_', '-')}`;

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFieldErrors({});
    showError(null);
    try {
      const body = await api<{ user: Profile }>('PATCH', '/api/me', { display_name: displayName.trim(), bio });
      onSaved(body.user);
      announce('Profile saved');
    } catch (err) {
      const { fieldErrors: errors, formError } = splitErrors(err, ['display_name', 'bio']);
      setFieldErrors(errors);
      showError(formError ?? Object.values(errors)[0] ?? null);
      focusFirstInvalid(formRef.current, errors, idFor);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="edit-title" class="card">
      <h2 id="edit-title">Edit your profile</h2>
      <form ref={formRef} onSubmit={submit} noValidate>
        <Field id={idFor('display_name')} label="Display name" error={fieldErrors.display_name}>
          {(d, invalid) => (
            <input id={idFor('display_name')} type="text" maxLength={50} required value={displayName}
              onInput={(e) => setDisplayName(e.currentTarget.value)} aria-describedby={d} aria-invalid={invalid || undefined} />
          )}
        </Field>
        <Field id={idFor('bio')} label="Bio" error={fieldErrors.bio} hint={`${Array.from(bio).length}/160 characters`}>
          {(d, invalid) => (
            <textarea id={idFor('bio')} maxLength={160} rows={3} value={bio}
              onInput={(e) => setBio(e.currentTarget.value)} aria-describedby={d} aria-invalid={invalid || undefined} />
          )}
        </Field>
        <div class="actions"><button type="submit" disabled={busy}>Save profile</button></div>
      </form>
    </section>
  );
}

export function ProfilePage({ handle }: { handle: string }) {
  const { user, setUser, showError, announce } = useApp();
  const [profile, setProfile] = useState<Profile | null>(null);
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [reporting, setReporting] = useState(false);
  usePageTitle(profile ? `${profile.display_name} (@${profile.handle})` : 'Profile');

  const load = useCallback(async () => {
    try {
      const body = await get<{ user: Profile }>(`/api/users/${encodeURIComponent(handle)}`);
      setProfile(body.user);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setMissing(true);
      else showError(errorMessage(err));
    }
  }, [handle, showError]);

  // Profiles are public: visitors see them too (without follow and block).
  useEffect(() => {
    void load();
  }, [user, load]);

  if (missing) {
    return (
      <section aria-labelledby="profile-title">
        <h1 id="profile-title">No such user</h1>
        <p>Nobody has the handle @{handle}. <a href="/">Go home</a>.</p>
      </section>
    );
  }
  if (!profile) return <p class="loading">Loading…</p>;

  const toggle = async (what: 'follow' | 'block', on: boolean, done: string) => {
    setBusy(true);
    showError(null);
    try {
      await api(on ? 'PUT' : 'DELETE', `/api/users/${encodeURIComponent(profile.handle)}/${what}`);
      await load();
      announce(done);
    } catch (err) {
      showError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <section aria-labelledby="profile-title" class="profile-head">
        <Avatar user={profile} size="lg" />
        <div>
          <h1 id="profile-title">{profile.display_name}</h1>
          <p class="handle">@{profile.handle}{profile.follows_me && <span class="badge">Follows you</span>}</p>
        </div>
      </section>
      {profile.bio && <p class="bio">{profile.bio}</p>}
      <ul class="counts" aria-label="Follows">
        <li>
          <a href={`/u/${profile.handle}/followers`}>
            <strong data-testid="follower-count">{profile.follower_count}</strong>{' '}
            {profile.follower_count === 1 ? 'follower' : 'followers'}
          </a>
        </li>
        <li>
          <a href={`/u/${profile.handle}/following`}>
            <strong data-testid="following-count">{profile.following_count}</strong> following
          </a>
        </li>
      </ul>
      {!user && <SignInPrompt what={`to follow @${profile.handle}`} />}
      {user && !profile.is_me && (
        <div class="actions">
          {!profile.blocked_by_me && (
            <button type="button" disabled={busy} class={profile.followed_by_me ? 'secondary' : ''}
              onClick={() => toggle('follow', !profile.followed_by_me,
                profile.followed_by_me ? `You unfollowed ${profile.display_name}` : `You follow ${profile.display_name}`)}>
              {profile.followed_by_me ? 'Unfollow' : 'Follow'}
            </button>
          )}
          <button type="button" disabled={busy} class="danger-outline"
            onClick={() => toggle('block', !profile.blocked_by_me,
              profile.blocked_by_me ? `You unblocked ${profile.display_name}` : `You blocked ${profile.display_name}`)}>
            {profile.blocked_by_me ? 'Unblock' : 'Block'}
          </button>
          <button type="button" class="secondary" data-testid="report-profile" onClick={() => setReporting(true)}>
            Report<span class="sr-only"> @{profile.handle}</span>
          </button>
        </div>
      )}
      <div class="actions profile-links">
        <SubscribeCalendar handle={profile.handle} />
        {profile.is_me && (
          <a class="button secondary small" href="/settings/notifications" data-testid="profile-notification-settings">
            Notification settings
          </a>
        )}
        {profile.is_me && (
          <a class="button secondary small" href="/analytics" data-testid="profile-analytics">Your analytics</a>
        )}
        {user && !profile.is_me && !profile.blocked_by_me && <MessageLink handle={profile.handle} />}
      </div>
      {reporting && <ReportDialog target={{ kind: 'user', user: profile }} onClose={() => setReporting(false)} />}
      <ProfileSpaces profile={profile} />
      {profile.is_me && (
        <EditPicture profile={profile} onSaved={(p) => { setProfile(p); setUser(p); }} />
      )}
      {profile.is_me && (
        <EditProfile profile={profile} onSaved={(p) => { setProfile(p); setUser(p); }} />
      )}
    </div>
  );
}
