// The stage as Spaces shows it: a grid of round avatars (host, co-hosts, speakers) with name,
// role, mute state and a ring while speaking. Tapping someone opens their card (PersonSheet).
import type { ComponentChildren } from 'preact';
import type { Member } from '../types';
import { Avatar } from './Avatar';

export const ROLE_LABEL: Record<Member['role'], string> = {
  host: 'Host', cohost: 'Co-host', speaker: 'Speaker', listener: 'Listener',
};

export function MutedIcon({ micOff = false }: { micOff?: boolean }) {
  return (
    <span class="muted-icon" data-testid="muted-icon">
      <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
        <path fill="currentColor" d="M12 3a3 3 0 0 0-3 3v4.2l6 6V6a3 3 0 0 0-3-3zm7 8h-2a5 5 0 0 1-.4 2l1.5 1.5A7 7 0 0 0 19 11zM4.3 3 3 4.3l6 6V11a3 3 0 0 0 4.4 2.7l1.5 1.5A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 2.9-1.1l3.8 3.8 1.3-1.3z" />
      </svg>
      {micOff ? 'Mic off' : 'Muted'}
    </span>
  );
}

/** A tile opens its person's card; in a read-only preview it is plain content. */
function TileAction({ readOnly, onClick, children }: { readOnly: boolean; onClick: () => void; children: ComponentChildren }) {
  if (readOnly) return <span class="tile-button">{children}</span>;
  return <button type="button" class="tile-button" aria-haspopup="dialog" onClick={onClick}>{children}</button>;
}

interface StageProps {
  members: Member[];
  myId: number;
  /** Speaking levels by user id (0-1); a member with a level above 0 is speaking now. */
  levels?: ReadonlyMap<number, number>;
  /** The latest emoji each member sent, shown on their avatar for a moment. */
  reactions: ReadonlyMap<number, string>;
  onOpen: (member: Member) => void;
  /** A preview of the stage (the space's link for someone who may not listen): no cards. */
  readOnly?: boolean;
}

export function StageGrid({ members, myId, levels, reactions, onOpen, readOnly = false }: StageProps) {
  return (
    <section aria-labelledby="stage-title" class="stage-section">
      <h2 id="stage-title" class="section-title">
        On stage <span class="count-pill">{members.length}</span>
      </h2>
      {members.length === 0 && <p class="hint">Nobody is on stage.</p>}
      <ul class="tile-grid stage" data-testid="stage">
        {members.map((m) => {
          const speaking = !m.muted && m.mic_live && (levels?.get(m.user.id) ?? 0) > 0;
          const me = m.user.id === myId;
          const reaction = reactions.get(m.user.id);
          return (
            <li key={m.user.id} class={`tile stage-member${m.muted ? ' is-muted' : ''}${speaking ? ' is-speaking' : ''}`}
              data-testid="stage-member" data-user-handle={m.user.handle} data-role={m.role}
              data-muted={m.muted ? 'true' : 'false'} data-mic={m.mic_live ? 'live' : 'off'}
              data-speaking={speaking ? 'true' : 'false'}>
              <TileAction readOnly={readOnly} onClick={() => onOpen(m)}>
                <span class="avatar-ring">
                  <Avatar user={m.user} size="lg" />
                  {m.muted && (
                    <span class="tile-mute">
                      <MutedIcon micOff={!m.mic_live} />
                    </span>
                  )}
                  {reaction && <span class="tile-reaction" data-testid="avatar-reaction" aria-hidden="true">{reaction}</span>}
                </span>
                <span class="tile-name">{m.user.display_name}</span>
                <span class="tile-role">
                  {m.role !== 'speaker' && <span class={`badge role-${m.role}`} data-testid="role-badge">{ROLE_LABEL[m.role]}</span>}
                  {m.role === 'speaker' && <span class="tile-sub">Speaker</span>}
                  {me && <span class="tile-sub">(you)</span>}
                  {!m.connected && <span class="badge away">Away</span>}
                </span>
                {/* Read when someone reaches the member, never pushed to a live region. */}
                {speaking && <span class="sr-only" data-testid="speaking">speaking</span>}
              </TileAction>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
