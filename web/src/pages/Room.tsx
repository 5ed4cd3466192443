import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, errorMessage } from '../api';
import { ClipMaker } from '../components/Clips';
import { HostTools, ScheduledPanel } from '../components/HostTools';
import { ListenersPanel } from '../components/Listeners';
import { Pins } from '../components/Pins';
import { ReactionBar, useReactionLayer } from '../components/Reactions';
import { RoomHeader, type RemovedReason } from '../components/RoomHeader';
import { RemovedNotice, SpaceOver } from '../components/SpaceOver';
import { MyControls, Requests, StagePanel } from '../components/Stage';
import { useApp } from '../context';
import { usePageTitle } from '../hooks';
import { openRoom, useLiveRoom, type LiveDelegate, type LiveRoom } from '../live';
import { pendingInvitations, pendingRequests, stageMembers } from '../room';
import type { SocketStatus } from '../roomSocket';
import { isModerator, type Member, type Space } from '../types';
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
  | { kind: 'removed'; reason: RemovedReason };

const SCHEDULED_POLL_MS = 15_000;

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

  const toRemoved = useCallback((reason: RemovedReason) => {
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
      <RoomHeader spaceId={spaceId} space={current} removedReason={phase.kind === 'removed' ? phase.reason : null}
        reconnecting={phase.kind === 'live' && socketStatus === 'reconnecting'} liveAudio={live && link ? link.audio : null} />

      {phase.kind === 'error' && (
        <div class="card">
          <p>{phase.message}</p>
          <button type="button" onClick={() => void load()}>Try again</button>
        </div>
      )}

      {phase.kind === 'removed' && <RemovedNotice />}

      {phase.kind === 'over' && (
        <SpaceOver spaceId={spaceId} space={current} isHost={isHost} offerReplay={space?.record ?? true} />
      )}

      {phase.kind === 'scheduled' && (
        <ScheduledPanel space={current} isHost={isHost}
          onStart={() => void spaceAction('start')} onCancel={() => void spaceAction('cancel')} />
      )}

      {(phase.kind === 'joining' || (phase.kind === 'live' && !room)) && <p class="loading">Joining…</p>}

      {room && (phase.kind === 'live' || phase.kind === 'over') && (
        <>
          <StagePanel members={stage} listenerCount={listenerCount} myId={myId} myRole={me?.role ?? 'listener'} live={live}
            act={act} levels={live && link ? link.levels : undefined} />

          {live && me && link && <MyControls me={me} space={current} act={act} audio={link.audio} />}

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

          {live && isHost && <HostTools stageCount={stage.length} onEnd={() => void spaceAction('end')} />}
        </>
      )}
      {reactionLayer}
    </article>
  );
}
