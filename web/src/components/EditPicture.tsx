import { useRef, useState } from 'preact/hooks';
import { ApiError, api, errorMessage, putFile } from '../api';
import { PICTURE_ACCEPT, pictureErrorText, pictureProblem } from '../pictureRules';
import type { Profile } from '../types';

/**
 * Change or remove my profile picture: a file input that uploads what is chosen at once
 * (PUT /api/me/avatar, the file itself as the body). Its error and its confirmation are each
 * said once, next to it: an alert, and a status line.
 */
export function EditPicture({ profile, onSaved }: { profile: Profile; onSaved: (p: Profile) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);

  const change = async (work: () => Promise<{ user: Profile }>, pending: string, done: string) => {
    setBusy(true);
    setError(null);
    setStatus(pending);
    try {
      const body = await work();
      onSaved(body.user);
      setStatus(done);
    } catch (err) {
      setStatus('');
      const rateLimited = err instanceof ApiError && err.code === 'rate_limited';
      setError(err instanceof ApiError && !rateLimited ? pictureErrorText(err) : errorMessage(err));
    } finally {
      setBusy(false);
      // Choosing the same file again is a new choice.
      if (inputRef.current) inputRef.current.value = '';
    }
  };

  const chosen = (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (!file) return;
    const problem = pictureProblem(file);
    if (problem) {
      input.value = '';
      setStatus('');
      setError(problem);
      return;
    }
    void change(() => putFile<{ user: Profile }>('/api/me/avatar', file), 'Uploading picture…', 'Picture updated.');
  };

  const remove = () =>
    void change(() => api<{ user: Profile }>('DELETE', '/api/me/avatar'), 'Removing picture…', 'Picture removed.');

  return (
    <section aria-labelledby="picture-title" class="card">
      <h2 id="picture-title">Profile picture</h2>
      <div class="field picture-edit">
        <label for="picture-file">Change picture</label>
        <input ref={inputRef} id="picture-file" type="file" accept={PICTURE_ACCEPT} disabled={busy}
          aria-describedby={error ? 'picture-hint picture-error' : 'picture-hint'} aria-invalid={error ? true : undefined}
          onChange={(e) => chosen(e.currentTarget)} />
        <p class="hint" id="picture-hint">PNG, JPEG, WebP or GIF, up to 5 MB. It is cropped to a square from its centre.</p>
        {error && <p class="field-error" id="picture-error" role="alert">{error}</p>}
        {profile.avatar_url && (
          <div class="actions">
            <button type="button" class="secondary" disabled={busy} onClick={remove}>Remove picture</button>
          </div>
        )}
        <p class="picture-status" role="status" data-testid="picture-status">{status}</p>
      </div>
    </section>
  );
}
