import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, errorMessage } from '../api';
import { PlaybackControl } from '../components/Audio';
import { Audience } from '../components/Audience';
import { CaptionSettings, CaptionsPanel, SpeakerCaptionNotice } from '../components/Captions';
import { ClipMaker } from '../components/Clips';
import { Dock, DockButton } from '../components/Dock';
import { ModerationLog, ScheduledPanel } from '../components/HostTools';
import { PersonSheet } from '../components/PersonSheet';
import { Pins } from '../components/Pins';
import { ReactionBar, useReactionLayer } from '../components/Reactions';
import { ReportDialog } from '../components/ReportDialog';
import { RequestsSheet } from '../components/Requests';
import { RoomHeader, type RemovedReason } from '../components/RoomHeader';
import { CopyLinkButton, ShareSheet } from '../components/Share';
import { InvitePeople } from '../components/ScheduledTools';
import { Sheet } from '../components/Sheet';
import { RemovedNotice, SpaceOver } from '../components/SpaceOver';
import { StageGrid } from '../components/Stage';
import { micProblem } from '../audioRules';
import { viaOf } from '../analyticsRules';
import { useCaptionPrefs } from '../captionPrefs';
import { useApp } from '../context';
import { plural } from '../format';
import { useSpaceFeed } from '../feed';
import { usePageTitle } from '../hooks';
import { leaveActiveRoom, openRoom, useLiveRoom, type LiveDelegate, type LiveRoom } from '../live';
import { nameOf, pendingInvitations, pendingRequests, stageMembers } from '../room';
import { navigate } from '../router';
import type { SocketStatus } from '../roomSocket';
import { isModerator, onStage, type Member, type ReportTarget, type Space, type SpacePage } from '../types';
import { SignInPrompt } from './NotFound';

type Phase =
  | { kind: 'loading' }
  | { kind: 'signin'; reason?: string }
  | { kind: 'missing' }
  | { kind: 'error'; message: string }
  | { kind: 'scheduled' }
  | { kind: 'joining' }
  | { kind: 'live' }
  | { kind: 'over' }
  | { kind: 'removed'; reason: RemovedReason };

const TOAST_MS = 8000;
const NO_REACTIONS: ReadonlyMap<number, string> = new Map();

/** The sheet open over the room: someone's card, the requests, more actions, a report, the log. */
type Sheet =
  | { kind: 'person'; member: Member }
  | { kind: 'requests' }
  | { kind: 'more' }
  | { kind: 'report'; target: ReportTarget }
  | { kind: 'log' }
  | { kind: 'share' };

export function RoomPage({ spaceId }: { spaceId: number }) {
  const { user, showError, announce } = useApp();
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [space, setSpace] = useState<Space | null>(null);
  const [page, setPage] = useState<SpacePage | null>(null);
  const userRef = useRef(user);
  userRef.current = user;
  const [link, setLink] = useState<LiveRoom | null>(null);
  useLiveRoom(link);
  const linkRef = useRef<LiveRoom | null>(null);
  const room = link?.room ?? null;
  const socketStatus: SocketStatus | null = link?.running ? link.socketStatus : null;
  const articleRef = useRef<HTMLElement>(null);
  const focusSection = useRef<string | null>(null);
  const { push: pushReactions, layer: reactionLayer, byUser: avatarReactions } = useReactionLayer();
  const [sheet, setSheet] = useState<Sheet | null>(null);
  const [trayOpen, setTrayOpen] = useState(false);
  const [micBusy, setMicBusy] = useState(false);
  const [micMessage, setMicMessage] = useState<string | null>(null);
  const [toast, setToast] = useState<{ id: number; text: string; review: boolean } | null>(null);
  const seenRequests = useRef<Set<number> | null>(null);
  const pushReactionsRef = useRef(pushReactions);
  pushReactionsRef.current = pushReactions;
  const announceRef = useRef(announce);
  announceRef.current = announce;
  const [captionPrefs, setCaptionPrefs] = useCaptionPrefs();
  // How the person came (`?via=home`, set by the app's own links): read once, passed on to the
  // room socket and `listen` for the host's analytics, then taken out of the address bar so a
  // copied link does not carry it.
  const via = useRef(viaOf(location.search));
  useEffect(() => {
    if (!new URLSearchParams(location.search).has('via')) return;
    const url = new URL(location.href);
    url.searchParams.delete('via');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }, []);

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
  const handlers = useRef({ toOver, toRemoved, phaseForError, stopSocket, reload: async () => undefined as void });
  handlers.current = { toOver, toRemoved, phaseForError, stopSocket, reload: handlers.current.reload };
  if (!delegateRef.current) {
    delegateRef.current = {
      onReactions: (event) => pushReactionsRef.current(event),
      onSnapshot: () => setPhase({ kind: 'live' }),
      onEnd: (end) => {
        if (end.kind === 'over') handlers.current.toOver(end.space);
        else if (end.kind === 'removed') handlers.current.toRemoved(end.reason);
        else if (end.code === 4403) handlers.current.toRemoved('removed');
        else if (end.code === 4404) setPhase({ kind: 'missing' });
        else if (end.code === 4410 || end.code === 4409) void handlers.current.reload(); // a visitor's space ended, or is not live yet
        else if (end.code === 4503) setPhase({ kind: 'signin', reason: 'This space is full for guests right now: sign in to listen' })
        else setPhase({ kind: 'signin' });
      },
      joinFailed: (err) => handlers.current.phaseForError(err),
    };
  }

  const joinAndConnect = useCallback(async (visitor: boolean) => {
    const { room: next, fresh } = openRoom(spaceId, visitor, via.current);
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
      const body = await get<SpacePage>(`/api/spaces/${spaceId}`);
      setSpace(body.space);
      setPage(body);
      const visitor = !userRef.current;
      if (body.space.state === 'live') {
        // Without an account: listen if the space is open to visitors, else say to sign in.
        if (visitor && !body.open_to_visitors) setPhase({ kind: 'signin' });
        else await joinAndConnect(visitor);
      } else if (body.space.state === 'scheduled') setPhase({ kind: 'scheduled' });
      else setPhase({ kind: 'over' });
    } catch (err) {
      if (!(await phaseForError(err))) setPhase({ kind: 'error', message: errorMessage(err) });
    }
  }, [spaceId, joinAndConnect, phaseForError]);

  handlers.current.reload = load;

  useEffect(() => {
    if (user !== undefined) void load();
    return () => {
      // Leaving the page: a live room keeps going in the mini-player; anything else stops.
      const current = linkRef.current;
      if (!current) return;
      if (current.delegate === delegateRef.current) current.delegate = null;
      if (!current.room || current.room.space.state !== 'live') current.stop();
    };
  }, [user, load]);

  // A scheduled space starting (or canceled) is heard on the public feed as it happens.
  useSpaceFeed((changed) => {
    if (changed.id !== spaceId || changed.state === 'scheduled') return;
    if (changed.state !== 'live') announceRef.current('Space canceled');
    void load();
  }, () => void load(), phase.kind === 'scheduled');

  // However the page learned it (the feed's event, or the reload when its socket opened after
  // the start: a browser test caught that race), a scheduled space going live is said once.
  const phaseBefore = useRef<Phase['kind']>(phase.kind);
  const startSaid = useRef(false);
  useEffect(() => {
    const before = phaseBefore.current;
    phaseBefore.current = phase.kind;
    const started = phase.kind === 'joining' || phase.kind === 'live';
    if (before === 'scheduled' && started && !startSaid.current) {
      startSaid.current = true;
      announceRef.current('Space started');
    }
  }, [phase.kind]);

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
      if (done) {
        // Said once through the live region; the toast shows it (it is not a live region).
        announceRef.current(done);
        setToast({ id: Date.now(), text: done, review: false });
      }
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
        startSaid.current = true;
        announceRef.current('Space started');
        await joinAndConnect(false);
      } else if (body.space.state === 'ended' || body.space.state === 'canceled') {
        toOver(body.space);
      }
    } catch (err) {
      showError(errorMessage(err));
    }
  };

  const me = room?.me ?? null;
  const myId = user?.id ?? -1;
  const live = phase.kind === 'live' && !!current && current.state === 'live';
  const moderator = live && isModerator(me);
  const requests = room && moderator ? pendingRequests(room) : [];

  // Hosts and co-hosts cannot miss a request: a toast for each new one (the badge stays).
  useEffect(() => {
    if (!room) return;
    const ids = new Set(pendingRequests(room).map((m) => m.user.id));
    const seen = seenRequests.current;
    seenRequests.current = ids;
    if (!seen || !moderator) return;
    const fresh = [...ids].filter((id) => !seen.has(id));
    if (fresh.length === 0) return;
    const first = room.members.get(fresh[0]);
    const text = fresh.length === 1 && first ? `${nameOf(first.user)} asked to speak` : `${fresh.length} people asked to speak`;
    setToast({ id: Date.now(), text, review: true });
  }, [room, moderator]);

  // A microphone message says what is true now: it goes once my seat or microphone changes.
  const micKey = `${room ? onStage(room.me) : false}:${room?.me.mic_live ?? false}:${link?.audio.state.mic ?? 'off'}`;
  useEffect(() => setMicMessage(null), [micKey]);

  useEffect(() => {
    if (!toast) return undefined;
    const timer = window.setTimeout(() => setToast(null), TOAST_MS);
    return () => window.clearTimeout(timer);
  }, [toast]);

  // The room's end or my removal closes whatever sheet was open.
  useEffect(() => {
    if (!live) {
      setSheet(null);
      setTrayOpen(false);
    }
  }, [live]);

  if (phase.kind === 'signin') {
    if (!current) {
      return (
        <section aria-labelledby="room-title">
          <h1 id="room-title">Join this space</h1>
          <SignInPrompt what="to listen and take part" />
        </section>
      );
    }
    // The link still shows what the space is: title, host, topics, state, stage and audience.
    return (
      <article aria-labelledby="room-title" class="room">
        <RoomHeader spaceId={spaceId} space={current} removedReason={null} reconnecting={false} liveAudio={null} />
        {page && page.stage.length > 0 && (
          <StageGrid members={page.stage} myId={myId} reactions={NO_REACTIONS} onOpen={() => undefined} readOnly />
        )}
        <p class="listener-summary" data-testid="listener-count">{plural(current.listener_count, 'listener', 'listeners')}</p>
        {phase.reason && <p class="field-error" data-testid="signin-reason">{phase.reason}.</p>}
        <SignInPrompt what={current.accounts_required ? 'to listen: the host asked that listeners have an account' : 'to listen and take part'} />
      </article>
    );
  }
  if (phase.kind === 'missing') {
    return (
      <section aria-labelledby="room-title">
        <h1 id="room-title">Space not found</h1>
        <p>This space does not exist or was deleted. <a href="/">See what is live</a>.</p>
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

  const isHost = current.host.id === myId;
  const stage = room ? stageMembers(room) : [];
  const listenerCount = room?.listenerCount ?? current.listener_count;
  const iAmOnStage = onStage(me);
  const visitor = !!room?.visitor;
  const signInFirst = (why: string) => {
    announceRef.current(why);
    navigate(`/signin?next=${encodeURIComponent(`/s/${spaceId}`)}`);
  };
  const audio = link?.audio ?? null;
  // The microphone failed or was refused while on stage: the reason, until it works again.
  const micIssue = live && iAmOnStage && audio ? micProblem(audio.state.mic) : null;
  const dockMessage = micMessage ?? (micIssue && audio?.state.mic !== 'off' ? micIssue : null);

  const toggleMic = async () => {
    if (!link || !me || micBusy) return;
    showError(null);
    setMicBusy(true);
    const problem = me.muted ? await link.unmute() : await link.mute();
    setMicBusy(false);
    setMicMessage(problem);
  };
  const leave = () => {
    const title = current.title;
    leaveActiveRoom();
    announceRef.current(`Left ${title}`);
    navigate('/');
  };
  const personOf = (userId: number): Member | null => room?.members.get(userId) ?? null;
  // A caption's speaker by name; someone no longer listed (left the stage and the room) is "Speaker".
  const speakerName = (userId: number): string => {
    const member = personOf(userId) ?? (me && me.user.id === userId ? me : null);
    return member ? nameOf(member.user) : 'Speaker';
  };
  const captionsOn = live && current.captions;
  const captionsShown = captionsOn && captionPrefs.shown;
  const openPerson = (member: Member) => setSheet({ kind: 'person', member });
  // A sheet's dialog fires "close" after it is replaced by the next (a card's Report opens the
  // report sheet): only the sheet still open is closed.
  const closeSheet = (kind: Sheet['kind']) => setSheet((open) => (open?.kind === kind ? null : open));
  // The card follows the room's changes to the person (a listener is not in the room's state).
  // Someone no longer listed by the room (moved down, request ended) is a plain listener now.
  const sheetPerson = sheet?.kind === 'person'
    ? personOf(sheet.member.user.id) ?? { ...sheet.member, role: 'listener' as const, muted: true, stage_request: 'none' as const }
    : null;

  return (
    <article aria-labelledby="room-title" class={`room${live ? ' room-live' : ''}`} ref={articleRef} onFocusIn={onFocusIn}>
      <RoomHeader spaceId={spaceId} space={current} removedReason={phase.kind === 'removed' ? phase.reason : null}
        reconnecting={phase.kind === 'live' && socketStatus === 'reconnecting'} liveAudio={live && link ? link.audio : null}
        onEnd={live && isHost ? () => void spaceAction('end') : undefined} />

      {phase.kind === 'error' && (
        <div class="card">
          <p>{phase.message}</p>
          <button type="button" onClick={() => void load()}>Try again</button>
        </div>
      )}

      {phase.kind === 'removed' && <RemovedNotice />}

      {phase.kind === 'over' && (
        <SpaceOver spaceId={spaceId} space={current} isHost={isHost} offerReplay={space?.record ?? true}
          showAnalytics={isHost || page?.me?.role === 'cohost' || !!page?.cohosts?.some((c) => c.id === myId)} />
      )}

      {phase.kind === 'scheduled' && (
        <ScheduledPanel space={current} page={page} isHost={isHost}
          onStart={() => void spaceAction('start')} onCancel={() => void spaceAction('cancel')}
          onShare={() => setSheet({ kind: 'share' })} onEdited={(edited) => setSpace(edited)} />
      )}
      {phase.kind === 'scheduled' && sheet?.kind === 'share' && (
        <ShareSheet space={current} reposted={page?.reposted} onClose={() => closeSheet('share')} />
      )}

      {(phase.kind === 'joining' || (phase.kind === 'live' && !room)) && <p class="loading">Joining…</p>}

      {room && live && me && link && (
        <>
          <StageGrid members={stage} myId={myId} levels={link.levels} reactions={avatarReactions} onOpen={openPerson} />

          {me.stage_request === 'invited' && !iAmOnStage && (
            <div class="card invite-card" role="group" aria-labelledby="invite-text">
              <p id="invite-text">You were invited to speak.</p>
              <div class="actions">
                <button type="button" onClick={() => void act('me/accept', 'You joined the stage')}>Accept</button>
                <button type="button" class="secondary" onClick={() => void act('me/decline')}>Decline</button>
              </div>
            </div>
          )}

          <Pins spaceId={spaceId} pins={room.pins} canPin={moderator} live={live} />

          {visitor && (
            <div class="card guest-card" data-testid="guest-card">
              <p>You are listening as a guest. Sign in to react, ask to speak and see who is listening.</p>
              <p class="actions">
                <a class="button small" href={`/signin?next=${encodeURIComponent(`/s/${spaceId}`)}`}>Sign in</a>
                <a class="button secondary small" href={`/signup?next=${encodeURIComponent(`/s/${spaceId}`)}`}>Create an account</a>
              </p>
            </div>
          )}

          <Audience spaceId={spaceId} listenerCount={listenerCount} myId={myId} pending={room.members} canList={!visitor}
            stageKey={stage.map((m) => m.user.id).join(',')}
            reactions={avatarReactions} onOpen={openPerson} />

          {toast && (
            <div class="toast" data-testid="toast">
              <span>{toast.text}</span>
              {moderator && toast.review && (
                <button type="button" class="small" onClick={() => { setToast(null); setSheet({ kind: 'requests' }); }}>Review</button>
              )}
            </div>
          )}

          {trayOpen && (
            <div class="tray" id="reaction-tray">
              <ReactionBar spaceId={spaceId} />
            </div>
          )}

          <Dock
            above={captionsShown ? (
              <CaptionsPanel log={link.captions} language={current.caption_language} nameOf={speakerName} />
            ) : undefined}
            message={(dockMessage || (captionsOn && iAmOnStage)) ? (
              <>
                {captionsOn && iAmOnStage && <SpeakerCaptionNotice spaceId={spaceId} me={me} />}
                {dockMessage && <p class="dock-message" role="alert" data-testid="mic-message">{dockMessage}</p>}
              </>
            ) : undefined}>
            {visitor ? (
              <DockButton icon="hand" label="Request" name="Request to speak (sign in first)" testId="request-toggle"
                onClick={() => signInFirst('Sign in to ask to speak')} />
            ) : iAmOnStage ? (
              <DockButton icon={me.muted ? 'micOff' : 'mic'} label={micBusy ? (me.muted ? 'Turning on…' : 'Muting…') : me.muted ? 'Unmute' : 'Mute'}
                tone={me.muted ? 'is-off' : 'is-on'} testId="toggle-mute" busy={micBusy}
                onClick={() => void toggleMic()} />
            ) : current.speaker_policy === 'invited' && me.stage_request === 'none' ? (
              <DockButton icon="hand" label="Invite only" name="Invite only: the host invites who speaks" testId="request-toggle" disabled onClick={() => undefined} />
            ) : (
              <DockButton icon="hand" label={me.stage_request === 'requested' ? 'Withdraw' : 'Request'}
                name={me.stage_request === 'requested' ? 'Withdraw request' : 'Request to speak'}
                pressed={me.stage_request === 'requested'} testId="request-toggle" disabled={me.stage_request === 'invited'}
                onClick={() => void act(me.stage_request === 'requested' ? 'me/withdraw' : 'me/request',
                  me.stage_request === 'requested' ? 'Request withdrawn' : 'You asked to speak')} />
            )}
            {visitor ? (
              <DockButton icon="smile" label="React" name="React (sign in first)" testId="react-toggle"
                onClick={() => signInFirst('Sign in to react')} />
            ) : (
              <DockButton icon="smile" label="React" expanded={trayOpen} controls="reaction-tray" testId="react-toggle"
                onClick={() => setTrayOpen(!trayOpen)} />
            )}
            {captionsOn && (
              <DockButton icon="cc" label="CC" name="Captions, CC" pressed={captionPrefs.shown} testId="captions-toggle"
                onClick={() => setCaptionPrefs({ shown: !captionPrefs.shown })} />
            )}
            {moderator && (
              <DockButton icon="people" label="Requests" badge={requests.length} testId="requests-toggle"
                onClick={() => setSheet({ kind: 'requests' })} />
            )}
            <DockButton icon="share" label="Share" testId="share-room" onClick={() => setSheet({ kind: 'share' })} />
            <DockButton icon="more" label="More" testId="more-toggle" onClick={() => setSheet({ kind: 'more' })} />
            <DockButton icon="leave" label="Leave" tone="dock-leave" testId="leave-room" onClick={leave} />
          </Dock>

          {sheet?.kind === 'person' && sheetPerson && (
            <PersonSheet member={sheetPerson} myRole={me.role} myId={myId} live={live} act={act} onClose={() => closeSheet('person')}
              spaceId={spaceId} onReport={visitor ? undefined : (target) => setSheet({ kind: 'report', target })} />
          )}
          {sheet?.kind === 'share' && (
            <ShareSheet space={current} reposted={page?.reposted} onClose={() => closeSheet('share')} />
          )}
          {sheet?.kind === 'report' && (
            <ReportDialog target={sheet.target} onClose={() => closeSheet('report')} />
          )}
          {sheet?.kind === 'log' && (
            <Sheet id="log" title="Moderation log" onClose={() => closeSheet('log')} testId="log-sheet">
              <p class="hint">What the host, co-hosts and the instance’s moderators did in this space, newest first.</p>
              <ModerationLog spaceId={spaceId} />
            </Sheet>
          )}
          {sheet?.kind === 'requests' && (
            <RequestsSheet requests={requests} invitations={pendingInvitations(room)} act={act} onClose={() => setSheet(null)} />
          )}
          {sheet?.kind === 'more' && (
            <Sheet id="more" title="More" onClose={() => closeSheet('more')} testId="more-sheet">
              <h3>Share</h3>
              <CopyLinkButton url={`${location.origin}/s/${spaceId}`} label="Copy link to this space"
                inputId="share-link" inputLabel="Link to this space" />
              {!visitor && (
                <>
                  <h3>Listening</h3>
                  <PlaybackControl audio={link.audio} />
                  <h3>Clip</h3>
                  {current.record ? (
                    <ClipMaker spaceId={spaceId} label="Clip last 30 s" testId="clip-live"
                      hint={'Saves the last 30 seconds of the room as a clip you can share. Once the space ends, '
                        + 'others hear it only while the host publishes the replay.'}
                      request={() => ({ duration_s: 30, start_s: null })} />
                  ) : (
                    <p class="hint" data-testid="clip-record-off">
                      The host chose not to record this space, so it cannot be clipped.
                    </p>
                  )}
                </>
              )}
              {moderator && (
                <>
                  <h3>Analytics</h3>
                  <p>
                    <a class="button secondary" href={`/s/${spaceId}/analytics`} data-testid="room-analytics">
                      Analytics
                    </a>
                  </p>
                  <h3>Captions</h3>
                  <CaptionSettings space={current} />
                  <h3>Invite</h3>
                  <InvitePeople spaceId={spaceId} />
                  <h3>Moderation</h3>
                  <button type="button" class="secondary" data-testid="open-moderation-log"
                    onClick={() => setSheet({ kind: 'log' })}>
                    Moderation log
                  </button>
                </>
              )}
              {!visitor && !isHost && (
                <>
                  <h3>Safety</h3>
                  <button type="button" class="danger-outline" data-testid="report-space"
                    onClick={() => setSheet({ kind: 'report', target: { kind: 'space', space: current } })}>
                    Report this space
                  </button>
                </>
              )}
              {iAmOnStage && me.role !== 'host' && (
                <>
                  <h3>Stage</h3>
                  <button type="button" class="secondary" onClick={() => { setSheet(null); void act('me/leave-stage', 'You left the stage'); }}>
                    Leave stage
                  </button>
                </>
              )}
            </Sheet>
          )}
        </>
      )}
      {reactionLayer}
    </article>
  );
}
