// The room's actions, fixed at the bottom of the window as on Spaces and Clubhouse: the
// microphone (or asking to speak), reactions, requests for hosts, sharing, more, and Leave.
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

const ICONS: Record<string, string> = {
  mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1A7 7 0 0 0 19 11z',
  micOff: 'M12 3a3 3 0 0 0-3 3v4.2l6 6V6a3 3 0 0 0-3-3zm7 8h-2a5 5 0 0 1-.4 2l1.5 1.5A7 7 0 0 0 19 11zM4.3 3 3 4.3l6 6V11a3 3 0 0 0 4.4 2.7l1.5 1.5A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 2.9-1.1l3.8 3.8 1.3-1.3z',
  hand: 'M13 2a1.5 1.5 0 0 0-1.5 1.5V11h-1V4.5a1.5 1.5 0 0 0-3 0V13l-1.6-1.9a1.6 1.6 0 0 0-2.4 2.1L8 18.5A6 6 0 0 0 13 22h1a6 6 0 0 0 6-6V7.5a1.5 1.5 0 0 0-3 0V11h-1V3.5A1.5 1.5 0 0 0 14.5 2z',
  smile: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm-3.5 7a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3zm7 0a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3zM12 18a6 6 0 0 1-5.2-3h10.4A6 6 0 0 1 12 18z',
  people: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm7 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM9 13c-3.3 0-7 1.7-7 4v3h14v-3c0-2.3-3.7-4-7-4zm7 0c-.5 0-1 0-1.5.1A5 5 0 0 1 18 17v3h4v-3c0-2.3-3.4-4-6-4z',
  share: 'M18 16a3 3 0 0 0-2.4 1.2l-6.7-3.4a3 3 0 0 0 0-1.6l6.7-3.4A3 3 0 1 0 15 7l-6.7 3.4a3 3 0 1 0 0 3.2L15 17a3 3 0 1 0 3-1z',
  more: 'M5 10a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm7 0a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm7 0a2 2 0 1 0 0 4 2 2 0 0 0 0-4z',
  cc: '', // drawn as a boxed "CC" (Icon)
  leave: 'M10 3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h5v-2H5V5h5zm6.6 4.4-1.4 1.4 2.2 2.2H9v2h8.4l-2.2 2.2 1.4 1.4L21.2 12z',
};

export function Icon({ name }: { name: keyof typeof ICONS }) {
  if (name === 'cc') {
    return (
      <svg class="dock-icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
        <rect x="2" y="5" width="20" height="14" rx="3" fill="none" stroke="currentColor" stroke-width="2" />
        {/* Two letters C as arcs (not <text>: its letters would count as the button's visible label). */}
        <path d="M10.6 10.1A2.5 2.5 0 1 0 10.6 13.9M17.1 10.1A2.5 2.5 0 1 0 17.1 13.9" fill="none"
          stroke="currentColor" stroke-width="2" stroke-linecap="round" />
      </svg>
    );
  }
  return (
    <svg class="dock-icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
      <path fill="currentColor" d={ICONS[name]} />
    </svg>
  );
}

export function DockButton({ icon, label, name, onClick, tone = '', pressed, expanded, controls, badge, testId, disabled, busy }: {
  /** `label` is shown; `name`, when the label is a short form of it, is what it is called. */
  icon: keyof typeof ICONS; label: string; name?: string; onClick: () => void; tone?: string; pressed?: boolean;
  expanded?: boolean; controls?: string; badge?: number; testId?: string; disabled?: boolean; busy?: boolean;
}) {
  return (
    // Busy, it stays focusable (aria-disabled, not disabled): focus is not lost while it works.
    <button type="button" class={`dock-button ${tone}`} onClick={onClick} data-testid={testId} aria-label={name}
      aria-pressed={pressed} aria-expanded={expanded} aria-controls={controls} disabled={disabled}
      aria-busy={busy} aria-disabled={busy || undefined}>
      <span class="dock-glyph">
        <Icon name={icon} />
      </span>
      <span class="dock-label">{label}</span>
      {/* After the label, so the button reads "Requests, 2 waiting". */}
      {badge !== undefined && badge > 0 && (
        <span class="dock-badge" data-testid="requests-badge"><span class="sr-only">, </span>{badge}<span class="sr-only"> waiting</span></span>
      )}
    </button>
  );
}

/**
 * The dock, with what sits just above it (the captions panel) in the same fixed area. Its height
 * is published as `--dock-h`, so the page keeps room for it and the tray and toasts sit above it.
 */
export function Dock({ children, message, above }: {
  children: ComponentChildren; message?: ComponentChildren; above?: ComponentChildren;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const area = ref.current;
    if (!area) return undefined;
    const root = document.documentElement;
    const publish = () => root.style.setProperty('--dock-h', `${area.offsetHeight}px`);
    publish();
    const observer = typeof ResizeObserver === 'function' ? new ResizeObserver(publish) : null;
    observer?.observe(area);
    return () => {
      observer?.disconnect();
      root.style.removeProperty('--dock-h');
    };
  }, []);
  return (
    <div class="dock-area" ref={ref}>
      {above}
      <section class="dock" aria-label="Room controls" data-testid="dock">
        {message}
        <div class="dock-row">{children}</div>
      </section>
    </div>
  );
}
