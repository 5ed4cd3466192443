import type { Member } from '../types';
import { Avatar } from './Avatar';
import { Sheet } from './Sheet';

type Act = (path: string, done?: string) => Promise<void>;

/** Requests to speak, one tap from the dock for hosts and co-hosts at any width. */
export function RequestsSheet({ requests, invitations, act, onClose }: {
  requests: Member[]; invitations: Member[]; act: Act; onClose: () => void;
}) {
  return (
    <Sheet id="requests" title="Requests to speak" onClose={onClose} testId="requests-sheet">
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
              <button type="button" class="small" onClick={() => void act(`members/${m.user.id}/approve`, `${m.user.display_name} joins the stage`)}>
                Approve<span class="sr-only"> {m.user.display_name}</span>
              </button>
              <button type="button" class="secondary small" onClick={() => void act(`members/${m.user.id}/deny`, `Declined ${m.user.display_name}’s request`)}>
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
    </Sheet>
  );
}
