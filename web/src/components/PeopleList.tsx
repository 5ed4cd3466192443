import { plural } from '../format';
import type { PersonResult, UserBrief } from '../types';
import { Avatar } from './Avatar';

/** People in a list, each linking to their profile; search adds their bio and followers. */
export function PeopleList({ people, testId }: { people: (UserBrief | PersonResult)[]; testId: string }) {
  return (
    <ul class="people people-list" data-testid={testId}>
      {people.map((p) => {
        const user = 'user' in p ? p.user : p;
        const found = 'user' in p ? p : null;
        return (
          <li key={user.id} class="person-row" data-testid="person" data-user-handle={user.handle}>
            <Avatar user={user} size="md" />
            <div class="person-text">
              <a class="person-link" href={`/u/${user.handle}`}>{user.display_name}</a>
              <span class="handle">@{user.handle}</span>
              {found && (
                <span class="meta person-meta">
                  {plural(found.follower_count, 'follower', 'followers')}
                  {found.followed_by_me && <> · You follow them</>}
                </span>
              )}
              {found?.bio && <span class="person-bio">{found.bio}</span>}
            </div>
          </li>
        );
      })}
    </ul>
  );
}
