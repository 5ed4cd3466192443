import type { RoomAudio } from '../audio';
import { onStage, type Member, type Space } from '../types';
import { MicPanel } from './Audio';
import { Avatar } from './Avatar';

const ROLE_LABEL: Record<string, string> = { host: 'Host', cohost: 'Co-host', speaker: 'Speaker' };

interface StageProps {
  members: Member[];
  myId: number;
  myRole: Member['role'];
  live: boolean;
  act: (path: string, done?: string) => Promise<void>;
  /** Speaking levels by user id (0-1); a member with a level above 0 is speaking now. */
  levels?: ReadonlyMap<number, number>;
}

export function MutedIcon() {
  return (
    <span class="muted-icon" data-testid="muted-icon">
      <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
        <path fill="currentColor" d="M12 3a3 3 0 0 0-3 3v4.2l6 6V6a3 3 0 0 0-3-3zm7 8h-2a5 5 0 0 1-.4 2l1.5 1.5A7 7 0 0 0 19 11zM4.3 3 3 4.3l6 6V11a3 3 0 0 0 4.4 2.7l1.5 1.5A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 2.9-1.1l3.8 3.8 1.3-1.3z" />
      </svg>
      Muted
    </span>
  );
}

function MemberControls({ member, myRole, act }: { member: Member; myRole: Member['role']; act: StageProps['act'] }) {
  const name = member.user.display_name;
  const id = member.user.id;
  const iAmHost = myRole === 'host';
  if (member.role === 'host') return null;
  if (member.role === 'cohost' && !iAmHost) return null;
  const who = <span class="sr-only"> {name}</span>;
  return (
    <div class="controls" role="group" aria-label={`Manage ${name}`}>
      {!member.muted && (
        <button type="button" class="small" onClick={() => void act(`members/${id}/mute`)}>Mute{who}</button>
      )}
      <button type="button" class="secondary small" aria-label={`Move to audience: ${name}`}
        onClick={() => void act(`members/${id}/move-down`)}>
        Move to audience
      </button>
      {iAmHost && member.role === 'speaker' && (
        <button type="button" class="secondary small" aria-label={`Make co-host: ${name}`}
          onClick={() => void act(`members/${id}/make-cohost`)}>
          Make co-host
        </button>
      )}
      {iAmHost && member.role === 'cohost' && (
        <button type="button" class="secondary small" aria-label={`Remove co-host: ${name}`}
          onClick={() => void act(`members/${id}/remove-cohost`)}>
          Remove co-host
        </button>
      )}
      <button type="button" class="danger-outline small" onClick={() => void act(`members/${id}/remove`)}>Remove{who}</button>
    </div>
  );
}

export function Stage({ members, myId, myRole, live, act, levels }: StageProps) {
  const moderator = myRole === 'host' || myRole === 'cohost';
  return (
    <ul class="stage" data-testid="stage" aria-labelledby="stage-title">
      {members.map((m) => {
        const speaking = !m.muted && (levels?.get(m.user.id) ?? 0) > 0;
        return (
        <li key={m.user.id} class={`stage-member${m.muted ? ' is-muted' : ''}${speaking ? ' is-speaking' : ''}`} data-testid="stage-member"
          data-user-handle={m.user.handle} data-role={m.role} data-muted={m.muted ? 'true' : 'false'}
          data-speaking={speaking ? 'true' : 'false'}>
          <div class="member-id">
            <span class="avatar-ring">
              <Avatar user={m.user} />
            </span>
            <div class="member-text">
              <span class="member-name">
                <a href={`/u/${m.user.handle}`}>{m.user.display_name}</a>
                {m.user.id === myId && <span class="you"> (you)</span>}
              </span>
              <span class="member-badges">
                {m.role !== 'speaker' && (
                  <span class={`badge role-${m.role}`} data-testid="role-badge">{ROLE_LABEL[m.role]}</span>
                )}
                {m.role === 'speaker' && <span class="sr-only">Speaker</span>}
                {m.muted && <MutedIcon />}
                {!m.connected && <span class="badge away">Away</span>}
                {/* Read when someone reaches the member, never pushed to a live region. */}
                {speaking && <span class="sr-only" data-testid="speaking">speaking</span>}
              </span>
            </div>
          </div>
          {live && moderator && m.user.id !== myId && <MemberControls member={m} myRole={myRole} act={act} />}
        </li>
        );
      })}
    </ul>
  );
}

/** The stage panel: who is on stage, and how many listen. */
export function StagePanel({ listenerCount, ...stageProps }: StageProps & { listenerCount: number }) {
  return (
    <section aria-labelledby="stage-title" class="panel">
      <div class="panel-head">
        <h2 id="stage-title">Stage</h2>
        <p class="listener-count" data-testid="listener-count">
          <span class="count">{listenerCount}</span> {listenerCount === 1 ? 'listener' : 'listeners'}
        </p>
      </div>
      {stageProps.members.length === 0 ? <p class="hint">Nobody is on stage.</p> : null}
      <Stage {...stageProps} />
    </section>
  );
}

/**
 * This user's own way on and off the stage: microphone and mute while on it, answering an
 * invitation, or asking to speak.
 */
export function MyControls({ me, space, act, audio }: {
  me: Member; space: Space; act: StageProps['act']; audio: RoomAudio;
}) {
  const stage = onStage(me);
  return (
    <section aria-labelledby="my-title" class="panel my-controls">
      <h2 id="my-title">Your controls</h2>
      {stage && <MicPanel audio={audio} muted={me.muted} />}
      {stage ? (
        <div class="actions">
          <button type="button" class={me.muted ? '' : 'secondary'} data-testid="toggle-mute"
            onClick={() => void act(me.muted ? 'me/unmute' : 'me/mute')}>
            {me.muted ? 'Unmute' : 'Mute'}
          </button>
          {me.role !== 'host' && (
            <button type="button" class="secondary" onClick={() => void act('me/leave-stage')}>Leave stage</button>
          )}
        </div>
      ) : me.stage_request === 'invited' ? (
        <div>
          <p>You were invited to speak.</p>
          <div class="actions">
            <button type="button" onClick={() => void act('me/accept')}>Accept</button>
            <button type="button" class="secondary" onClick={() => void act('me/decline')}>Decline</button>
          </div>
        </div>
      ) : space.speaker_policy === 'invited' && me.stage_request === 'none' ? (
        <p class="hint">Only people the host invites can speak in this space.</p>
      ) : (
        <div class="actions">
          <button type="button" data-testid="request-toggle" class={me.stage_request === 'requested' ? 'secondary' : ''}
            onClick={() => void act(me.stage_request === 'requested' ? 'me/withdraw' : 'me/request')}>
            {me.stage_request === 'requested' ? 'Withdraw request' : 'Request to speak'}
          </button>
          {me.stage_request === 'requested' && <span class="hint">Waiting for the host</span>}
        </div>
      )}
    </section>
  );
}

interface RequestsProps {
  requests: Member[];
  invitations: Member[];
  act: StageProps['act'];
}

export function Requests({ requests, invitations, act }: RequestsProps) {
  return (
    <section aria-labelledby="requests-title" class="panel">
      <h2 id="requests-title">Requests to speak</h2>
      {requests.length === 0 && <p class="hint">No requests right now.</p>}
      <ul class="people" data-testid="requests">
        {requests.map((m) => (
          <li key={m.user.id} class="person" data-testid="request" data-user-handle={m.user.handle}>
            <Avatar user={m.user} size="sm" />
            <span class="person-name">
              <a href={`/u/${m.user.handle}`}>{m.user.display_name}</a>
              <span class="handle"> @{m.user.handle}</span>
            </span>
            <span class="controls">
              <button type="button" class="small" onClick={() => void act(`members/${m.user.id}/approve`)}>
                Approve<span class="sr-only"> {m.user.display_name}</span>
              </button>
              <button type="button" class="secondary small" onClick={() => void act(`members/${m.user.id}/deny`)}>
                Deny<span class="sr-only"> {m.user.display_name}</span>
              </button>
            </span>
          </li>
        ))}
      </ul>
      {invitations.length > 0 && (
        <>
          <h3>Invited</h3>
          <ul class="people" data-testid="invitations">
            {invitations.map((m) => (
              <li key={m.user.id} class="person" data-user-handle={m.user.handle}>
                <Avatar user={m.user} size="sm" />
                <span class="person-name">{m.user.display_name} <span class="handle">@{m.user.handle}</span></span>
                <span class="hint">Waiting for an answer</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
