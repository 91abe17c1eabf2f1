// The sign-in page (admin token → session cookie) and the page shown while the admin is closed.
import type { FC } from 'hono/jsx';
import { adminSessionTtlMs } from '../../../middleware/admin-auth.ts';
import { base, Layout } from './layout.tsx';

export const LoginPage: FC<{ error?: string | undefined }> = ({ error }) => (
  <Layout title="Sign in" signedIn={false}>
    <div class="login">
      <h1>Sign in to the reviewer dashboard</h1>
      {error ? (
        <p class="notice error" role="alert">
          {error}
        </p>
      ) : null}
      <form method="post" action={`${base}/login`}>
        <label>
          Admin token (TENET_ADMIN_TOKEN)
          <input type="password" name="token" autocomplete="current-password" required autofocus />
        </label>
        <button type="submit" class="primary">
          Sign in
        </button>
      </form>
      <p class="muted small">
        The session lasts {Math.round(adminSessionTtlMs / 3_600_000)} hours; changing the token ends every
        session.
      </p>
    </div>
  </Layout>
);

export const ClosedPage: FC = () => (
  <Layout title="Admin closed" signedIn={false}>
    <h1>The admin is closed</h1>
    <p class="notice">
      This Tenet has no admin token, so the dashboard and the log API are off. Set{' '}
      <code>TENET_ADMIN_TOKEN</code> (at least 16 characters) and restart to open them.
    </p>
  </Layout>
);
