import { useRef, useState } from 'preact/hooks';
import { post } from '../api';
import { Field } from '../components/Field';
import { useApp } from '../context';
import { focusFirstInvalid, splitErrors, type FieldErrors } from '../forms';
import { usePageTitle } from '../hooks';
import { navigate } from '../router';
import type { Profile } from '../types';

const FIELDS = ['handle', 'display_name', 'password', 'invite_code'];

export function AuthPage({ mode, next }: { mode: 'signin' | 'signup'; next: string }) {
  const { user, setUser, showError, announce } = useApp();
  const signup = mode === 'signup';
  const title = signup ? 'Create your account' : 'Sign in';
  usePageTitle(signup ? 'Sign up' : 'Sign in');
  const [handle, setHandle] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  // An invite link (/signup?invite=CODE) fills it in; an invite-only instance asks for it.
  const [inviteCode, setInviteCode] = useState(() => new URLSearchParams(location.search).get('invite') ?? '');
  const [askInvite, setAskInvite] = useState(inviteCode !== '');
  const [pending, setPending] = useState(false);
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const formRef = useRef<HTMLFormElement>(null);
  const idFor = (field: string) => `${mode}-${field.replace('_', '-')}`;
  const nextQuery = next !== '/' ? `?next=${encodeURIComponent(next)}` : '';

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFieldErrors({});
    showError(null);
    try {
      const invite = inviteCode.trim();
      const body = signup
        ? await post<{ user: Profile; pending_approval?: boolean }>('/api/auth/signup', {
          handle: handle.trim(), display_name: displayName.trim(), password, ...(invite ? { invite_code: invite } : {}),
        })
        : await post<{ user: Profile; pending_approval?: boolean }>('/api/auth/signin', { handle: handle.trim(), password });
      if (body.pending_approval) {
        // The instance approves new accounts: nothing to sign in to yet.
        setPending(true);
        announce('Your account was made and waits for approval');
        return;
      }
      setUser(body.user);
      announce(signup ? `Welcome, ${body.user.display_name}` : `Signed in as ${body.user.display_name}`);
      navigate(next, { replace: true });
    } catch (err) {
      const { fieldErrors: errors, formError } = splitErrors(err, signup ? FIELDS : ['handle', 'password']);
      setFieldErrors(errors);
      if (errors.invite_code) setAskInvite(true);
      showError(formError ?? Object.values(errors)[0] ?? null);
      focusFirstInvalid(formRef.current, errors, idFor);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow" aria-labelledby={`${mode}-title`}>
      <h1 id={`${mode}-title`}>{title}</h1>
      {user && <p>You are signed in as <a href={`/u/${user.handle}`}>@{user.handle}</a>.</p>}
      {pending && (
        <p class="notice" role="status">
          Your account <strong>@{handle.trim()}</strong> was made. This instance's admins approve new accounts:
          you can sign in once they have.
        </p>
      )}
      <form hidden={pending} ref={formRef} onSubmit={submit} noValidate>
        <Field id={idFor('handle')} label="Handle" error={fieldErrors.handle}
          hint={signup ? '3–15 letters, digits or _' : undefined}>
          {(describedBy, invalid) => (
            <input id={idFor('handle')} name="handle" type="text" autocomplete="username" required
              autocapitalize="none" spellcheck={false} minLength={signup ? 3 : undefined} maxLength={signup ? 15 : undefined}
              pattern={signup ? '[A-Za-z0-9_]{3,15}' : undefined}
              value={handle} onInput={(e) => setHandle(e.currentTarget.value)}
              aria-describedby={describedBy} aria-invalid={invalid || undefined} />
          )}
        </Field>
        {signup && (
          <Field id={idFor('display_name')} label="Display name" error={fieldErrors.display_name}>
            {(describedBy, invalid) => (
              <input id={idFor('display_name')} name="display_name" type="text" autocomplete="name" required maxLength={50}
                value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)}
                aria-describedby={describedBy} aria-invalid={invalid || undefined} />
            )}
          </Field>
        )}
        <Field id={idFor('password')} label="Password" error={fieldErrors.password}
          hint={signup ? 'At least 8 characters' : undefined}>
          {(describedBy, invalid) => (
            <input id={idFor('password')} name="password" type="password" required
              autocomplete={signup ? 'new-password' : 'current-password'} minLength={signup ? 8 : undefined} maxLength={128}
              value={password} onInput={(e) => setPassword(e.currentTarget.value)}
              aria-describedby={describedBy} aria-invalid={invalid || undefined} />
          )}
        </Field>
        {signup && askInvite && (
          <Field id={idFor('invite_code')} label="Invite code" error={fieldErrors.invite_code}
            hint="This instance lets people in by invitation: paste the code you were given">
            {(describedBy, invalid) => (
              <input id={idFor('invite_code')} name="invite_code" type="text" autocomplete="off" maxLength={64}
                autocapitalize="none" spellcheck={false}
                value={inviteCode} onInput={(e) => setInviteCode(e.currentTarget.value)}
                aria-describedby={describedBy} aria-invalid={invalid || undefined} />
            )}
          </Field>
        )}
        <div class="actions">
          <button type="submit" disabled={busy}>{signup ? 'Sign up' : 'Sign in'}</button>
        </div>
      </form>
      <p>
        {signup
          ? <>Already have an account? <a href={`/signin${nextQuery}`}>Sign in</a></>
          : <>New to Parley? <a href={`/signup${nextQuery}`}>Create an account</a></>}
      </p>
    </section>
  );
}
