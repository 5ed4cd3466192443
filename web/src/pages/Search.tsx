import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../api';
import { PeopleList } from '../components/PeopleList';
import { SpaceCard } from '../components/SpaceCard';
import { useApp } from '../context';
import { usePageTitle } from '../hooks';
import { usePagedList, type PagedList } from '../paging';
import { navigate } from '../router';
import { queryProblem, resultsSummary, searchErrorText, searchHref } from '../searchRules';
import type { Paged, PersonResult, Space } from '../types';

const PAGE = 20;

function problemText(error: unknown): string {
  return error instanceof ApiError ? searchErrorText(error) : errorMessage(error);
}

function Results<T>({ id, title, list, more, retry, noun, empty, children }: {
  id: string;
  title: string;
  list: PagedList<T>;
  more: () => void;
  retry: () => void;
  noun: string;
  empty: string;
  children: (items: T[]) => ComponentChildren;
}) {
  const failed = list.error !== null;
  return (
    <section aria-labelledby={id} class="space-list search-results" aria-busy={list.loading || undefined}>
      <h2 id={id}>{title}</h2>
      {!list.loaded && <p class="loading">Searching…</p>}
      {list.loaded && !failed && list.items.length === 0 && <p class="meta" data-testid={`${id}-empty`}>{empty}</p>}
      {list.items.length > 0 && children(list.items)}
      {failed && (
        <div class="search-problem" data-testid={`${id}-error`}>
          <p class="field-error">{problemText(list.error)}</p>
          {!(list.error instanceof ApiError && list.error.status === 422) && (
            <button type="button" class="secondary small" onClick={list.items.length ? more : retry}>
              Try again
            </button>
          )}
        </div>
      )}
      {!failed && list.next !== null && (
        <button type="button" class="secondary" disabled={list.loading} onClick={more}>
          {list.loading ? 'Loading…' : `Show more ${noun}`}
        </button>
      )}
    </section>
  );
}

export function SearchPage({ q }: { q: string }) {
  const { user, announce } = useApp();
  const [text, setText] = useState(q);
  const [problem, setProblem] = useState<string | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const query = q.trim();
  // A query the server would refuse is not sent: its field says why.
  const sendable = query !== '' && queryProblem(query) === null;
  usePageTitle(query ? `Search: ${query}` : 'Search');

  const base = (kind: string) => (sendable ? `/api/search/${kind}?q=${encodeURIComponent(query)}` : null);
  const peoplePath = base('people');
  const spacesPath = base('spaces');
  const [people, peopleControls] = usePagedList<PersonResult, Paged & { people: PersonResult[] }>(
    peoplePath, (body) => body.people, user, PAGE);
  const [spaces, spacesControls] = usePagedList<Space, Paged & { spaces: Space[] }>(
    spacesPath, (body) => body.spaces, user, PAGE);

  useEffect(() => {
    setText(q);
    setProblem(query && !sendable ? queryProblem(query) : null);
  }, [q]);

  // Once both lists for this query are in, say what was found (the lists are not live regions).
  const settled = people.source === peoplePath && spaces.source === spacesPath
    && !people.loading && !spaces.loading;
  useEffect(() => {
    if (!sendable || !settled) return;
    if (people.error !== null || spaces.error !== null) {
      announce(problemText(people.error ?? spaces.error));
      return;
    }
    announce(resultsSummary(query, people.items.length, spaces.items.length,
      { people: people.next !== null, spaces: spaces.next !== null }));
  }, [settled, query]);

  const submit = (event: Event) => {
    event.preventDefault();
    const found = queryProblem(text);
    setProblem(found);
    if (found) {
      inputRef.current?.focus();
      return;
    }
    navigate(searchHref(text));
  };

  const errorId = 'search-q-error';
  return (
    <div class="search-page">
      <h1>Search</h1>
      <form role="search" aria-label="People and spaces" class="search-form" onSubmit={submit} noValidate>
        <div class={`field${problem ? ' field-invalid' : ''}`}>
          <label for="search-q">Search people and spaces</label>
          <p class="hint" id="search-q-hint">Names, @handles, titles and topics. Case and accents do not matter.</p>
          <div class="search-row">
            <input ref={inputRef} id="search-q" type="search" name="q" value={text} maxLength={200}
              autoComplete="off" spellcheck={false} enterKeyHint="search"
              aria-describedby={problem ? `search-q-hint ${errorId}` : 'search-q-hint'}
              aria-invalid={problem ? true : undefined}
              onInput={(e) => setText(e.currentTarget.value)} />
            <button type="submit">Search</button>
          </div>
          {problem && <p class="field-error" id={errorId} data-testid="search-problem">{problem}</p>}
        </div>
      </form>

      {!sendable && !problem && (
        <p class="meta">Find people to follow, spaces that are live or coming up, and replays of past ones.</p>
      )}
      {sendable && (
        <>
          <Results id="people-results" title="People" list={people} noun="people"
            empty={`No people match “${query}”.`} {...peopleControls}>
            {(items) => <PeopleList people={items} testId="people-results-list" />}
          </Results>
          <Results id="space-results" title="Spaces" list={spaces} noun="spaces"
            empty={`No live, upcoming or replayable spaces match “${query}”.`} {...spacesControls}>
            {(items) => (
              <ul class="cards" data-testid="space-results-list">
                {items.map((s) => <SpaceCard key={s.id} space={s} />)}
              </ul>
            )}
          </Results>
        </>
      )}
    </div>
  );
}
