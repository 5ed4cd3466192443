import { usePageTitle } from '../hooks';

export function NotFoundPage() {
  usePageTitle('Not found');
  return (
    <section aria-labelledby="nf-title">
      <h1 id="nf-title">Page not found</h1>
      <p>There is nothing at this address. <a href="/">Go to the home page</a>.</p>
    </section>
  );
}

export function SignInPrompt({ what }: { what: string }) {
  const next = encodeURIComponent(location.pathname + location.search);
  return (
    <div class="card prompt">
      <p>Sign in {what}.</p>
      <p class="actions">
        <a class="button" href={`/signin?next=${next}`}>Sign in</a>
        <a class="button secondary" href={`/signup?next=${next}`}>Create an account</a>
      </p>
    </div>
  );
}
