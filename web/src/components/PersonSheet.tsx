// Someone's card in the room, opened from their avatar: who they are, and what I may do about
// them (the same rules the server enforces: docs/api.md).
import type { Member, ReportTarget } from '../types';
import { Avatar } from './Avatar';
import { ConfirmButton } from './ConfirmButton';
import { Sheet } from './Sheet';
import { ROLE_LABEL } from './Stage';

type Act = (path: string, done?: string) => Promise<void>;

export function PersonSheet({ member, myRole, myId, live, act, onClose, spaceId, onReport }: {
  member: Member; myRole: Member['role']; myId: number; live: boolean; act: Act; onClose: () => void;
  /** The space the card is opened in, and how a report is opened (absent: no reporting, a guest). */
  spaceId?: number; onReport?: (target: ReportTarget) => void;
}) {
  const { user } = member;
  const name = user.display_name;
  const id = user.id;
  const me = id === myId;
  const iAmHost = myRole === 'host';
  const moderator = live && !me && (iAmHost || myRole === 'cohost');
  const onStage = member.role !== 'listener';
  // Co-hosts moderate speakers and listeners; only the host acts on co-hosts; nobody on the host.
  const mayModerate = moderator && member.role !== 'host' && (member.role !== 'cohost' || iAmHost);
  const run = (path: string, done: string) => {
    onClose();
    void act(path, done);
  };
  let state = ROLE_LABEL[member.role];
  if (onStage) state += !member.mic_live ? ' · microphone off' : member.muted ? ' · muted' : ' · unmuted';
  if (member.stage_request === 'requested') state += ' · asked to speak';
  if (member.stage_request === 'invited') state += ' · invited to speak';

  return (
    <Sheet id="person" title={me ? `${name} (you)` : name} onClose={onClose} testId="person-sheet">
      <div class="person-card">
        <Avatar user={user} size="lg" />
        <div>
          <p class="handle">@{user.handle}</p>
          <p>{state}</p>
          <p><a href={`/u/${user.handle}`}>View profile</a></p>
        </div>
      </div>
      {live && me && onStage && member.role !== 'host' && (
        <div class="actions">
          <button type="button" class="secondary" onClick={() => run('me/leave-stage', 'You left the stage')}>Leave stage</button>
        </div>
      )}
      {mayModerate && (
        <div class="actions" role="group" aria-label={`Manage ${name}`}>
          {onStage && !member.muted && (
            <button type="button" onClick={() => run(`members/${id}/mute`, `Muted ${name}`)}>Mute<span class="sr-only"> {name}</span></button>
          )}
          {onStage && (
            <button type="button" class="secondary" onClick={() => run(`members/${id}/move-down`, `Moved ${name} to the audience`)}>
              Move to audience
            </button>
          )}
          {iAmHost && member.role === 'speaker' && (
            <button type="button" class="secondary" onClick={() => run(`members/${id}/make-cohost`, `${name} is now a co-host`)}>
              Make co-host
            </button>
          )}
          {iAmHost && member.role === 'cohost' && (
            <button type="button" class="secondary" onClick={() => run(`members/${id}/remove-cohost`, `${name} is no longer a co-host`)}>
              Remove co-host
            </button>
          )}
          {!onStage && member.stage_request === 'requested' && (
            <>
              <button type="button" onClick={() => run(`members/${id}/approve`, `${name} joins the stage`)}>Approve<span class="sr-only"> {name}</span></button>
              <button type="button" class="secondary" onClick={() => run(`members/${id}/deny`, `Declined ${name}’s request`)}>Deny<span class="sr-only"> {name}</span></button>
            </>
          )}
          {!onStage && member.stage_request === 'none' && (
            <button type="button" onClick={() => run(`members/${id}/invite`, `Invited ${name} to speak`)}>Invite to speak</button>
          )}
          <ConfirmButton label={`Remove ${name}`} question={`Remove ${name} from this space? They can’t come back.`}
            confirmLabel={`Yes, remove ${name}`} keepLabel="Keep them" tone="danger-outline"
            onConfirm={() => run(`members/${id}/remove`, `Removed ${name}`)} />
        </div>
      )}
      {onReport && !me && myId > 0 && (
        <div class="actions report-actions" role="group" aria-label={`Report ${name}`}>
          {live && onStage && spaceId !== undefined && (
            <button type="button" class="secondary small" data-testid="report-moment"
              onClick={() => onReport({ kind: 'moment', user, spaceId, atS: null })}>
              Report what they just said
            </button>
          )}
          <button type="button" class="secondary small" data-testid="report-user"
            onClick={() => onReport({ kind: 'user', user })}>
            Report<span class="sr-only"> {name}</span> account
          </button>
        </div>
      )}
    </Sheet>
  );
}
