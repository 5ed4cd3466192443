import { useState } from 'preact/hooks';
import type { UserBrief } from '../types';

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = Array.from(words[0])[0] ?? '';
  const last = words.length > 1 ? Array.from(words[words.length - 1])[0] ?? '' : '';
  return (first + last).toUpperCase();
}

// A stable hue per user; the text stays dark on a light tint for contrast.
const TINTS = ['#dbeafe', '#dcfce7', '#fef3c7', '#fce7f3', '#e0e7ff', '#ccfbf1', '#ffedd5', '#ede9fe'];
// The CSS sizes of .avatar-sm/md/lg (2, 3 and 4.5rem), so the page keeps its place while a
// picture loads.
const PIXELS = { sm: 32, md: 48, lg: 72 } as const;

/**
 * A user's picture, or their initials when they have none (or it cannot be loaded). Decorative
 * either way: the name is always shown beside it, so the picture has an empty alt.
 */
export function Avatar({ user, size = 'md' }: { user: UserBrief; size?: 'sm' | 'md' | 'lg' }) {
  const [failedUrl, setFailedUrl] = useState<string | null>(null);
  const url = user.avatar_url;
  if (url && url !== failedUrl) {
    return (
      <img class={`avatar avatar-${size} avatar-picture`} src={url} alt="" width={PIXELS[size]} height={PIXELS[size]}
        loading="lazy" decoding="async" data-testid="avatar-picture" onError={() => setFailedUrl(url)} />
    );
  }
  const tint = TINTS[Math.abs(user.id) % TINTS.length];
  return (
    <span class={`avatar avatar-${size}`} style={{ background: tint }} aria-hidden="true">
      {initials(user.display_name || user.handle)}
    </span>
  );
}
