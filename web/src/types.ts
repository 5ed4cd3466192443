// Wire types from docs/api.md ("Objects") and docs/websocket.md.

export interface UserBrief {
  id: number;
  handle: string;
  display_name: string;
  /** The profile picture (a 256 px square, cacheable for ever at this URL); null: initials. */
  avatar_url: string | null;
}

export interface Profile extends UserBrief {
  bio: string;
  follower_count: number;
  following_count: number;
  followed_by_me: boolean;
  follows_me: boolean;
  blocked_by_me: boolean;
  is_me: boolean;
}

export type SpeakerPolicy = 'everyone' | 'followed' | 'invited';
export type SpaceState = 'scheduled' | 'live' | 'ended' | 'canceled';

export interface Space {
  id: number;
  title: string;
  topics: string[];
  speaker_policy: SpeakerPolicy;
  state: SpaceState;
  host: UserBrief;
  scheduled_for: string | null;
  started_at: string | null;
  ended_at: string | null;
  created_at: string;
  listener_count: number;
  stage_count: number;
  /** The host chose to offer a replay of the recording. */
  record: boolean;
  /** The host asked that only signed-in people listen. */
  accounts_required: boolean;
  /** Live captions of the stage are on (the host and co-hosts turn them on and off). */
  captions: boolean;
  /** The language spoken on stage (ISO 639-1, "en"), which the speech engine is told. */
  caption_language: string;
  /** In lists, where the server says it: I asked for a reminder of this scheduled space. */
  reminded?: boolean;
}

export type Role = 'host' | 'cohost' | 'speaker' | 'listener';
export type StageRequest = 'none' | 'requested' | 'invited';

export interface Member {
  user: UserBrief;
  role: Role;
  muted: boolean;
  stage_request: StageRequest;
  connected: boolean;
  /** Their audio reaches the server now: unmuting needs it, losing it mutes. */
  mic_live: boolean;
  /** False: they switched off captioning of their own voice (shown as speech without words). */
  captioned: boolean;
}

export interface Pin {
  id: number;
  kind: 'link' | 'post';
  text: string;
  url: string | null;
  created_at: string;
}

// Server -> client WebSocket messages (docs/websocket.md).
export interface SnapshotEvent {
  type: 'snapshot';
  seq: number;
  space: Space;
  members: Member[];
  pins: Pin[];
  listener_count: number;
  /** null for a visitor (no account): their snapshot lists the stage only. */
  me: Member | null;
  /** The last final caption lines, oldest first (absent from servers without captions). */
  captions?: CaptionLine[];
}
/** A change a visitor may not see (a listener's request, say): only its seq, so none is missed. */
export interface HiddenEvent { type: 'hidden'; seq: number }
export interface SpaceUpdatedEvent { type: 'space_updated'; seq: number; space: Space }
export interface MemberUpdatedEvent { type: 'member_updated'; seq: number; member: Member }
export interface MemberRemovedEvent {
  type: 'member_removed';
  seq: number;
  user_id: number;
  reason: 'removed' | 'blocked';
}
export interface PinAddedEvent { type: 'pin_added'; seq: number; pin: Pin }
export interface PinRemovedEvent { type: 'pin_removed'; seq: number; pin_id: number }
export interface PresenceEvent { type: 'presence'; seq: null; listener_count: number }
export interface ReactionsEvent {
  type: 'reactions';
  seq: null;
  window_ms: number;
  counts: Record<string, number>;
  by: { user_id: number; emoji: string }[];
}
export interface PingEvent { type: 'ping'; seq: null }
/** One caption line: a partial replaces the last line with its id, then the final one does. */
export interface CaptionEvent { type: 'caption'; seq: null; line: CaptionLine }
/** Speaking indicators: the members whose level (0-1, 0 = stopped speaking) changed, by user id. */
export interface LevelsEvent { type: 'levels'; seq: null; levels: Record<string, number> }

export type SeqEvent =
  | SpaceUpdatedEvent
  | MemberUpdatedEvent
  | MemberRemovedEvent
  | PinAddedEvent
  | PinRemovedEvent
  | HiddenEvent;

export type ServerEvent = SnapshotEvent | SeqEvent | PresenceEvent | ReactionsEvent | LevelsEvent | CaptionEvent | PingEvent;

export const STAGE_ROLES: readonly Role[] = ['host', 'cohost', 'speaker'];

export function onStage(member: Member | null | undefined): boolean {
  return !!member && STAGE_ROLES.includes(member.role);
}

export function isModerator(member: Member | null | undefined): boolean {
  return !!member && (member.role === 'host' || member.role === 'cohost');
}

// Listening over HLS, clips, recordings and replays.

/** GET /api/spaces/{id}/listen: where to listen; webrtc=false means low latency is full here. */
export interface ListenInfo {
  /** Signed for this listener; a live one expires within minutes: ask again before it does. */
  hls_url: string;
  hls_expires_at: string;
  /** The link's life from the answer, in seconds (absent from older servers). */
  hls_expires_in_s?: number;
  webrtc: boolean;
}

export interface Clip {
  /** Unguessable: what the clip's links carry. */
  id: string;
  space_id: number;
  space_title: string;
  created_by: UserBrief;
  start_s: number;
  duration_s: number;
  created_at: string;
  audio_url: string;
  page_url: string;
  /**
   * 'private': only its clipper hears it (its space ended and the host has not published the
   * replay); it turns public again if the host publishes the replay.
   */
  visibility: 'public' | 'private';
  /** The caption lines the clip spans, on the clip's own clock (0 = its start). */
  captions?: TranscriptLine[];
}

export interface Recording {
  state: 'recording' | 'complete';
  started_at: string;
  ended_at: string | null;
  duration_s: number;
  bytes: number;
  download_url: string;
  expires_at: string;
  replay_published: boolean;
}

/** Where the speaker changed, seconds into the recording. */
export interface SpeakerMarker {
  at_s: number;
  user: UserBrief;
}

/** How many listened while live, from `at_s` on (until the next point). */
export interface ListenerCountPoint {
  at_s: number;
  count: number;
}

export interface Replay {
  space: Space;
  duration_s: number;
  playlist_url: string;
  published: boolean;
  markers: SpeakerMarker[];
  listener_counts: ListenerCountPoint[];
  /** The space was captioned: GET /api/spaces/{id}/transcript has its lines. */
  has_transcript?: boolean;
}

// Discovery: search, recent replays, a person's spaces and follow lists.

/** A list the server pages: `next_offset` is where the next page starts, null on the last. */
export interface Paged {
  next_offset: number | null;
}

/** GET /api/search/people: a person as search shows them. */
export interface PersonResult {
  user: UserBrief;
  bio: string;
  follower_count: number;
  followed_by_me: boolean;
}

/** A published replay in a list (home, a profile); it plays at /spaces/{space.id}/replay. */
export interface ReplaySummary {
  space: Space;
  duration_s: number;
  published_at: string;
  /** When retention deletes it. */
  expires_at: string;
}

/** GET /api/users/{handle}/spaces */
export interface HostedSpaces {
  live: Space[];
  upcoming: Space[];
}

/** GET /api/spaces/{id}: what the space's link shows anyone, and my membership (null signed out). */
export interface SpacePage {
  space: Space;
  me: Member | null;
  /** Who is on stage now, in the order they joined. */
  stage: Member[];
  replay_published: boolean;
  /** People without an account may listen (the instance allows it, the host did not ask for accounts). */
  open_to_visitors: boolean;
  /** I asked to be told when it starts (absent from servers without reminders). */
  reminded?: boolean;
  /** How many asked for a reminder: for the host and co-hosts only (else null or absent). */
  reminders?: number | null;
  /** I shared it with my followers (absent from servers without reposts). */
  reposted?: boolean;
  /** The space's co-hosts named ahead (absent from older servers). */
  cohosts?: UserBrief[];
}

// Live captions and transcripts (docs/captions.md).

/**
 * One utterance of one stage member, live: partials (final=false) while they talk, each
 * replacing the line with the same id, then one final line. Times are on the recording's clock.
 */
export interface CaptionLine {
  id: number;
  user_id: number;
  start_s: number;
  end_s: number;
  /** null: this speaker switched captioning of their voice off (speech without words). */
  text: string | null;
  final: boolean;
}

export interface TranscriptLine {
  id: number;
  user: UserBrief;
  start_s: number;
  end_s: number;
  text: string;
}

/** GET /api/spaces/{id}/transcript answers `{"transcript": Transcript}`. */
export interface Transcript {
  space_id: number;
  language: string;
  lines: TranscriptLine[];
  /** This viewer may download it (.vtt, .srt, .txt): the host and everyone who spoke. */
  downloadable: boolean;
}

/** GET /api/captions: what the create form offers. */
export interface CaptionsInfo {
  default_language: string;
  languages: string[];
  engine: string;
}

// Trust and safety: reports, notices, the admin desk (docs/api.md).

export type ReportKind = 'user' | 'space' | 'moment';
export type ReportState = 'open' | 'dismissed' | 'actioned';
export type InstanceRole = 'member' | 'moderator' | 'admin';
export type Decision = 'dismiss' | 'warn' | 'remove_pin' | 'remove_clip' | 'end_space' | 'restrict_hosting' | 'suspend';

/** What a report is about: a user, a space, or what a speaker said (live: now; a replay: at_s). */
export type ReportTarget =
  | { kind: 'user'; user: UserBrief }
  | { kind: 'space'; space: Pick<Space, 'id' | 'title'> }
  | { kind: 'moment'; user: UserBrief; spaceId: number; atS: number | null };

/** POST /api/reports answers with the report as its reporter sees it. */
export interface MyReport {
  id: number;
  kind: ReportKind;
  state: ReportState;
  reason: string;
  created_at: string;
  outcome: Decision | null;
  space_id: number | null;
  target: UserBrief | null;
}

/** GET /api/me/notices: a report's receipt and outcome, a warning. */
export interface Notice {
  id: number;
  kind: string;
  text: string;
  report_id: number | null;
  created_at: string;
  read: boolean;
}

export interface Sanction {
  id: number;
  kind: 'warning' | 'hosting_restricted' | 'suspended';
  reason: string;
  created_at: string;
  /** null: for good. */
  ends_at: string | null;
  lifted_at: string | null;
  in_force: boolean;
}

/** A caption line of the reported moment, on the recording's clock. */
export interface EvidenceLine {
  speaker: string;
  start_s: number;
  end_s: number;
  text: string | null;
}

export interface Evidence {
  space_title: string | null;
  space_state: string | null;
  host_handle: string | null;
  member_role: string | null;
  captions: EvidenceLine[];
  history: Sanction[];
  earlier_reports: number;
  /** The recording around the moment (audio/mp4), kept until the report is decided. */
  audio_url: string | null;
  audio_start_s: number | null;
  audio_duration_s: number | null;
}

/** A report as the instance's moderators see it. */
export interface Report {
  id: number;
  kind: ReportKind;
  state: ReportState;
  reason: string;
  note: string;
  created_at: string;
  closed_at: string | null;
  outcome: Decision | null;
  reporter: UserBrief | null;
  target: UserBrief | null;
  space_id: number | null;
  moment_s: number | null;
  evidence: Evidence;
}

export interface Account {
  user: UserBrief;
  role: InstanceRole;
  state: 'active' | 'pending';
  created_at: string;
  suspended_until: string | null;
  hosting_restricted_until: string | null;
}

export interface Invite {
  code: string;
  created_at: string;
  expires_at: string | null;
  max_uses: number;
  uses: number;
}

export interface AuditEntry {
  id: number;
  created_at: string;
  actor_id: number | null;
  actor_handle: string | null;
  /** host, cohost (in their space), moderator, admin, or system. */
  actor_role: string;
  action: string;
  target_user_id: number | null;
  target_handle: string | null;
  space_id: number | null;
  report_id: number | null;
  reason: string;
}

// Notifications, reminders, sharing and messages (issue 13, docs/notifications.md).

/** GET /api/notifications and the user socket's `notification`: one thing the user was told. */
export interface AppNotification {
  id: number;
  kind: string;
  text: string;
  /** A path of this site ("/s/12"). */
  link: string;
  actor: UserBrief | null;
  space_id: number | null;
  created_at: string;
  read: boolean;
}

export type DmPolicy = 'everyone' | 'following' | 'nobody';

/** GET/PATCH /api/notifications/settings answer `{settings}`. */
export interface NotificationSettings {
  channels: Record<string, string[]>;
  quiet_start: string | null;
  quiet_end: string | null;
  time_zone: string;
  email: string | null;
  /** Its owner followed the link sent to it: only then does email go there. */
  email_confirmed: boolean;
  /** The instance sends email at all. */
  email_available: boolean;
  push_subscriptions: number;
  dm_policy: DmPolicy;
}

/** A direct message; an invitation to a space carries `space` and `invitation`. */
export interface MessageView {
  id: number;
  sender: UserBrief;
  recipient: UserBrief;
  text: string;
  created_at: string;
  read: boolean;
  space: Space | null;
  invitation: { role: 'listen' | 'speak'; accepted: boolean } | null;
}

export interface Conversation {
  with: UserBrief;
  last: MessageView;
  unread: number;
}

/** GET /api/home/shared: a space people I follow shared. */
export interface SharedItem {
  space: Space;
  shared_by: UserBrief[];
  shared_count: number;
}

/** The user's own socket (/api/me/socket). */
export type UserSocketEvent =
  | { type: 'hello'; unread: number }
  | { type: 'notification'; notification: AppNotification }
  | { type: 'message'; message: MessageView }
  | { type: 'ping' };
