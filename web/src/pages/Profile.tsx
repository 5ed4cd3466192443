import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, get, errorMessage } from '../api';
import { Avatar } from '../components/Avatar';
import { Field } from '../components/Field';
import { useApp } from '../context';
import { focusFirstInvalid, splitErrors, type FieldErrors } from '../forms';
import { usePageTitle } from '../hooks';
import type { Profile } from '../types';
import { SignInPrompt } from './NotFound';

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

  useEffect(() => {
    if (user) void load();
  }, [user, load]);

  if (!user) {
    return (
      <section aria-labelledby="profile-title">
        <h1 id="profile-title">@{handle}</h1>
        <SignInPrompt what="to see profiles" />
      </section>
    );
  }
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
      <dl class="counts">
        <div><dt>Followers</dt><dd data-testid="follower-count">{profile.follower_count}</dd></div>
        <div><dt>Following</dt><dd data-testid="following-count">{profile.following_count}</dd></div>
      </dl>
      {!profile.is_me && (
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
        </div>
      )}
      {profile.is_me && (
        <EditProfile profile={profile} onSaved={(p) => { setProfile(p); setUser(p); }} />
      )}
    </div>
  );
}
