import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, errorMessage } from '../api';
import { ListenersPanel } from '../components/Listeners';
import { Pins } from '../components/Pins';
import { ReactionBar, useReactionLayer } from '../components/Reactions';
import { ShareButton } from '../components/Share';
import { Requests, Stage } from '../components/Stage';
import { useApp } from '../context';
import { formatWhen, plural } from '../format';
import { usePageTitle } from '../hooks';
import { AudioControls, MicPanel, PlaybackControl } from '../components/Audio';
import { ClipMaker } from '../components/Clips';
import { RecordingPanel, replayPath } from '../components/Recording';
import { openRoom, useLiveRoom, type LiveDelegate, type LiveRoom } from '../live';
import { pendingInvitations, pendingRequests, stageMembers } from '../room';
import type { SocketStatus } from '../roomSocket';
import { isModerator, onStage, type Member, type Replay, type Space } from '../types';
import { SignInPrompt } from './NotFound';

type Phase =
  | { kind: 'loading' }
  | { kind: 'signin' }
  | { kind: 'missing' }
  | { kind: 'error'; message: string }
  | { kind: 'scheduled' }
  | { kind: 'joining' }
  | { kind: 'live' }
  | { kind: 'over' }
  | { kind: 'removed'; reason: 'removed' | 'blocked' };

const SCHEDULED_POLL_MS = 15_000;

function StateBanner({ space, phase, socketStatus }: { space: Space; phase: Phase; socketStatus: SocketStatus | null }) {
  let text: string;
  let tone = 'neutral';
  if (phase.kind === 'removed') {
    text = phase.reason === 'blocked' ? 'You can’t be in this space.' : 'You were removed from this space';
    tone = 'ended';
  } else if (space.state === 'ended') {
    text = 'This space has ended';
    tone = 'ended';
  } else if (space.state === 'canceled') {
    text = 'This space was canceled';
    tone = 'ended';
  } else if (space.state === 'scheduled') {
    text = `Scheduled for ${formatWhen(space.scheduled_for)}`;
  } else {
    text = 'Live';
    tone = 'live';
  }
  return (
    <div class={`state-banner tone-${tone}`} data-testid="space-state" data-state={phase.kind === 'removed' ? 'removed' : space.state}>
      <span>{text}</span>
      {phase.kind === 'live' && socketStatus === 'reconnecting' && (
        <span class="hint" role="status"> Reconnecting…</span>
      )}
    </div>
  );
}

function MyControls({ me, space, act, link }: {
  me: Member; space: Space; act: (path: string, done?: string) => Promise<void>; link: LiveRoom;
}) {
  const stage = onStage(me);
  return (
    <section aria-labelledby="my-title" class="panel my-controls">
      <h2 id="my-title">Your controls</h2>
      {stage && <MicPanel audio={link.audio} muted={me.muted} />}
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

function ConfirmButton({ label, question, confirmLabel, keepLabel, onConfirm, tone = 'danger' }: {
  label: string; question: string; confirmLabel: string; keepLabel: string; onConfirm: () => void; tone?: string;
}) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const openRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking) {
    return <button type="button" ref={openRef} class={tone} onClick={() => setAsking(true)}>{label}</button>;
  }
  return (
    <div class="confirm" role="group" aria-label={question}>
      <p>{question}</p>
      <div class="actions">
        <button type="button" ref={confirmRef} class={tone} onClick={() => { setAsking(false); onConfirm(); }}>{confirmLabel}</button>
        <button type="button" class="secondary" onClick={() => setAsking(false)}>{keepLabel}</button>
      </div>
    </div>
  );
}

export function RoomPage({ spaceId }: { spaceId: number }) {
  const { user, showError, announce } = useApp();
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [space, setSpace] = useState<Space | null>(null);
  const [link, setLink] = useState<LiveRoom | null>(null);
  useLiveRoom(link);
  const linkRef = useRef<LiveRoom | null>(null);
  const room = link?.room ?? null;
  const socketStatus: SocketStatus | null = link?.running ? link.socketStatus : null;
  const articleRef = useRef<HTMLElement>(null);
  const focusSection = useRef<string | null>(null);
  const { push: pushReactions, layer: reactionLayer } = useReactionLayer();
  const pushReactionsRef = useRef(pushReactions);
  pushReactionsRef.current = pushReactions;
  const announceRef = useRef(announce);
  announceRef.current = announce;
  const [replayPublished, setReplayPublished] = useState(false);

  const current = room?.space ?? space;
  usePageTitle(current ? current.title : 'Space');

  const stopSocket = useCallback(() => {
    linkRef.current?.stop();
  }, []);

  const toOver = useCallback((ended: Space) => {
    stopSocket();
    setSpace(ended);
    const conn = linkRef.current;
    if (conn?.room) conn.room = { ...conn.room, space: ended };
    setPhase((p) => {
      if (p.kind !== 'over') announceRef.current(ended.state === 'canceled' ? 'Space canceled' : 'Space ended');
      return { kind: 'over' };
    });
  }, [stopSocket]);

  const toRemoved = useCallback((reason: 'removed' | 'blocked') => {
    stopSocket();
    setPhase((p) => {
      if (p.kind !== 'removed') {
        announceRef.current(reason === 'blocked' ? 'You can’t be in this space' : 'You were removed from this space');
      }
      return { kind: 'removed', reason };
    });
  }, [stopSocket]);

  /** Why a join or load failed, as the next phase; null when it is worth retrying. */
  const phaseForError = useCallback(async (err: unknown): Promise<boolean> => {
    if (err instanceof ApiError) {
      if (err.status === 401) { stopSocket(); setPhase({ kind: 'signin' }); return true; }
      if (err.status === 404) { stopSocket(); setPhase({ kind: 'missing' }); return true; }
      if (err.code === 'removed' || err.code === 'blocked') { toRemoved(err.code); return true; }
      if (err.code === 'invalid_state') {
        try {
          const body = await get<{ space: Space }>(`/api/spaces/${spaceId}`);
          if (body.space.state === 'ended' || body.space.state === 'canceled') { toOver(body.space); return true; }
          if (body.space.state === 'scheduled') { stopSocket(); setSpace(body.space); setPhase({ kind: 'scheduled' }); return true; }
        } catch {
          /* fall through */
        }
      }
    }
    return false;
  }, [spaceId, stopSocket, toOver, toRemoved]);

  // What the room connection tells this page (kept current through refs, set once).
  const delegateRef = useRef<LiveDelegate | null>(null);
  const handlers = useRef({ toOver, toRemoved, phaseForError, stopSocket });
  handlers.current = { toOver, toRemoved, phaseForError, stopSocket };
  if (!delegateRef.current) {
    delegateRef.current = {
      onReactions: (event) => pushReactionsRef.current(event),
      onSnapshot: () => setPhase({ kind: 'live' }),
      onEnd: (end) => {
        if (end.kind === 'over') handlers.current.toOver(end.space);
        else if (end.kind === 'removed') handlers.current.toRemoved(end.reason);
        else if (end.code === 4403) handlers.current.toRemoved('removed');
        else if (end.code === 4404) setPhase({ kind: 'missing' });
        else setPhase({ kind: 'signin' });
      },
      joinFailed: (err) => handlers.current.phaseForError(err),
    };
  }

  const joinAndConnect = useCallback(async () => {
    const { room: next, fresh } = openRoom(spaceId);
    linkRef.current = next;
    next.delegate = delegateRef.current;
    setLink(next);
    if (!fresh && next.room) {
      // Still connected from before (the mini-player kept it going): carry on.
      setPhase({ kind: 'live' });
      return;
    }
    setPhase({ kind: 'joining' });
    try {
      if (fresh) await next.start();
    } catch (err) {
      if (!(await phaseForError(err))) setPhase({ kind: 'error', message: errorMessage(err) });
    }
  }, [spaceId, phaseForError]);

  const load = useCallback(async () => {
    try {
      const body = await get<{ space: Space; me: Member | null }>(`/api/spaces/${spaceId}`);
      setSpace(body.space);
      if (body.space.state === 'live') await joinAndConnect();
      else if (body.space.state === 'scheduled') setPhase({ kind: 'scheduled' });
      else setPhase({ kind: 'over' });
    } catch (err) {
      if (!(await phaseForError(err))) setPhase({ kind: 'error', message: errorMessage(err) });
    }
  }, [spaceId, joinAndConnect, phaseForError]);

  useEffect(() => {
    if (user) void load();
    else if (user === null) setPhase({ kind: 'signin' });
    return () => {
      // Leaving the page: a live room keeps going in the mini-player; anything else stops.
      const current = linkRef.current;
      if (!current) return;
      if (current.delegate === delegateRef.current) current.delegate = null;
      if (!current.room || current.room.space.state !== 'live') current.stop();
    };
  }, [user, load]);

  // Nobody is told when a scheduled space starts before they join: look again now and then.
  useEffect(() => {
    if (phase.kind !== 'scheduled') return;
    const timer = window.setInterval(async () => {
      try {
        const body = await get<{ space: Space }>(`/api/spaces/${spaceId}`);
        if (body.space.state !== 'scheduled') {
          announceRef.current(body.space.state === 'live' ? 'Space started' : 'Space canceled');
          void load();
        }
      } catch {
        /* try again on the next tick */
      }
    }, SCHEDULED_POLL_MS);
    return () => window.clearInterval(timer);
  }, [phase.kind, spaceId, load]);

  // An ended space may have a published replay (the host also sees an unpublished one).
  const ended = phase.kind === 'over' && (room?.space ?? space)?.state === 'ended';
  useEffect(() => {
    if (!ended) return undefined;
    let active = true;
    get<{ replay: Replay }>(`/api/spaces/${spaceId}/replay`)
      .then((body) => active && setReplayPublished(body.replay.published))
      .catch(() => active && setReplayPublished(false));
    return () => {
      active = false;
    };
  }, [ended, spaceId]);

  // Keep keyboard focus in place when the control that had it disappears (an approved
  // request, a member moved down): send it to the heading of the section it was in.
  useLayoutEffect(() => {
    const active = document.activeElement;
    if (focusSection.current && (!active || active === document.body)) {
      const heading = articleRef.current?.querySelector<HTMLElement>(`#${focusSection.current}`);
      if (heading) {
        heading.setAttribute('tabindex', '-1');
        heading.focus();
      }
    }
  });
  const onFocusIn = (event: FocusEvent) => {
    const section = (event.target as Element).closest('section');
    const heading = section?.querySelector('h2, h1');
    focusSection.current = heading?.id || null;
  };

  const act = useCallback(async (path: string, done?: string) => {
    showError(null);
    try {
      await post(`/api/spaces/${spaceId}/${path}`);
      if (done) announceRef.current(done);
    } catch (err) {
      showError(errorMessage(err));
      if (err instanceof ApiError && err.code === 'invalid_state') void phaseForError(err);
    }
  }, [spaceId, showError, phaseForError]);

  const spaceAction = async (verb: 'start' | 'end' | 'cancel') => {
    showError(null);
    try {
      const body = await post<{ space: Space }>(`/api/spaces/${spaceId}/${verb}`);
      setSpace(body.space);
      if (body.space.state === 'live') {
        announceRef.current('Space started');
        await joinAndConnect();
      } else if (body.space.state === 'ended' || body.space.state === 'canceled') {
        toOver(body.space);
      }
    } catch (err) {
      showError(errorMessage(err));
    }
  };

  if (phase.kind === 'signin') {
    return (
      <section aria-labelledby="room-title">
        <h1 id="room-title">Join this space</h1>
        <SignInPrompt what="to listen and take part" />
      </section>
    );
  }
  if (phase.kind === 'missing') {
    return (
      <section aria-labelledby="room-title">
        <h1 id="room-title">Space not found</h1>
        <p>This space does not exist. <a href="/">See what is live</a>.</p>
      </section>
    );
  }
  if (!current) {
    return phase.kind === 'error'
      ? (
        <section aria-labelledby="room-title">
          <h1 id="room-title">Could not open this space</h1>
          <p>{phase.message}</p>
          <button type="button" onClick={() => void load()}>Try again</button>
        </section>
      )
      : <p class="loading">Loading…</p>;
  }

  const me = room?.me ?? null;
  const myId = user?.id ?? -1;
  const isHost = current.host.id === myId;
  const live = phase.kind === 'live' && current.state === 'live';
  const moderator = live && isModerator(me);
  const stage = room ? stageMembers(room) : [];
  const listenerCount = room?.listenerCount ?? current.listener_count;

  return (
    <article aria-labelledby="room-title" class="room" ref={articleRef} onFocusIn={onFocusIn}>
      <header class="room-head">
        <h1 id="room-title">{current.title}</h1>
        <StateBanner space={current} phase={phase} socketStatus={socketStatus} />
        {live && link && (
          <div class="audio-row">
            <AudioControls audio={link.audio} />
            <PlaybackControl audio={link.audio} />
          </div>
        )}
        <p class="meta">
          Hosted by <a href={`/u/${current.host.handle}`}>{current.host.display_name}</a>
          <span class="handle"> @{current.host.handle}</span>
        </p>
        {current.topics.length > 0 && (
          <ul class="topics" aria-label="Topics">
            {current.topics.map((t) => <li key={t} class="topic">{t}</li>)}
          </ul>
        )}
        <ShareButton spaceId={spaceId} />
      </header>

      {phase.kind === 'error' && (
        <div class="card">
          <p>{phase.message}</p>
          <button type="button" onClick={() => void load()}>Try again</button>
        </div>
      )}

      {phase.kind === 'removed' && (
        <div class="card ended-card">
          <p>You were removed from this space and can’t rejoin it. <a href="/">Find another space</a>.</p>
        </div>
      )}

      {phase.kind === 'over' && (
        <div class="card ended-card">
          <p>
            {current.state === 'canceled' ? 'The host canceled this space.' : `This space has ended${current.ended_at ? ` (${formatWhen(current.ended_at)})` : ''}.`}
            {' '}<a href="/">See what is live</a>.
          </p>
          {ended && replayPublished && (
            <p><a class="button" href={replayPath(spaceId)} data-testid="replay-link">Listen to the replay</a></p>
          )}
        </div>
      )}

      {ended && isHost && <RecordingPanel spaceId={spaceId} offerReplay={space?.record ?? true} onPublished={setReplayPublished} />}

      {phase.kind === 'scheduled' && (
        <section aria-labelledby="when-title" class="panel">
          <h2 id="when-title">Not started yet</h2>
          <p>This space starts {formatWhen(current.scheduled_for)}.</p>
          {isHost && (
            <div class="actions">
              <button type="button" onClick={() => void spaceAction('start')}>Start space</button>
              <ConfirmButton label="Cancel space" question="Cancel this space for everyone?"
                confirmLabel="Yes, cancel space" keepLabel="Keep it" onConfirm={() => void spaceAction('cancel')} />
            </div>
          )}
        </section>
      )}

      {(phase.kind === 'joining' || (phase.kind === 'live' && !room)) && <p class="loading">Joining…</p>}

      {room && (phase.kind === 'live' || phase.kind === 'over') && (
        <>
          <section aria-labelledby="stage-title" class="panel">
            <div class="panel-head">
              <h2 id="stage-title">Stage</h2>
              <p class="listener-count" data-testid="listener-count">
                <span class="count">{listenerCount}</span> {listenerCount === 1 ? 'listener' : 'listeners'}
              </p>
            </div>
            {stage.length === 0 ? <p class="hint">Nobody is on stage.</p> : null}
            <Stage members={stage} myId={myId} myRole={me?.role ?? 'listener'} live={live} act={act}
              levels={live && link ? link.levels : undefined} />
          </section>

          {live && me && link && <MyControls me={me} space={current} act={act} link={link} />}

          {moderator && <Requests requests={pendingRequests(room)} invitations={pendingInvitations(room)} act={act} />}

          <Pins spaceId={spaceId} pins={room.pins} canPin={moderator} live={live} />

          {live && <ReactionBar spaceId={spaceId} />}

          {live && me && (
            <section aria-labelledby="clips-title" class="panel">
              <h2 id="clips-title">Clips</h2>
              <ClipMaker spaceId={spaceId} label="Clip last 30 s" testId="clip-live"
                hint="Saves the last 30 seconds of the room as a clip you can share."
                request={() => ({ duration_s: 30, start_s: null })} />
            </section>
          )}

          {live && (
            <ListenersPanel spaceId={spaceId} listenerCount={listenerCount} canModerate={moderator}
              myId={myId} pending={room.members} act={act} />
          )}

          {live && isHost && (
            <section aria-labelledby="host-title" class="panel">
              <h2 id="host-title">Host tools</h2>
              <p class="hint">{plural(stage.length, 'person', 'people')} on stage. Ending the space stops it for everyone.</p>
              <ConfirmButton label="End space" question="End this space for everyone?"
                confirmLabel="Yes, end space" keepLabel="Keep it going" onConfirm={() => void spaceAction('end')} />
            </section>
          )}
        </>
      )}
      {reactionLayer}
    </article>
  );
}
