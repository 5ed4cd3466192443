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

export function Avatar({ user, size = 'md' }: { user: UserBrief; size?: 'sm' | 'md' | 'lg' }) {
  const tint = TINTS[Math.abs(user.id) % TINTS.length];
  return (
    <span class={`avatar avatar-${size}`} style={{ background: tint }} aria-hidden="true">
      {initials(user.display_name || user.handle)}
    </span>
  );
}
