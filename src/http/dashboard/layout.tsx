// The dashboard's page frame: document head, inline stylesheet, navigation and small shared pieces.

import { html, raw } from 'hono/html';
import type { Child, FC, PropsWithChildren } from 'hono/jsx';

/** Where the lead mounts the dashboard; every link and form action starts here. */
export const base = '/admin';

const css = `
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --soft:#f6f8fa; --accent:#0969da;
  --pass:#1a7f37; --revised:#0969da; --flagged:#9a6700; --blocked:#cf222e; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:#fff; }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
header.top { display:flex; align-items:center; gap:24px; padding:10px 24px; border-bottom:1px solid var(--line); background:var(--soft); }
header.top .brand { font-weight:700; font-size:16px; color:var(--fg); letter-spacing:.02em; }
header.top nav { display:flex; gap:16px; flex:1; }
header.top nav a.on { color:var(--fg); font-weight:600; }
main { max-width:1180px; margin:0 auto; padding:20px 24px 48px; }
h1 { font-size:22px; margin:4px 0 16px; } h2 { font-size:16px; margin:28px 0 10px; } h3 { font-size:14px; margin:16px 0 8px; }
.muted { color:var(--muted); } .small { font-size:12px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px; }
.card { border:1px solid var(--line); border-radius:8px; padding:12px 14px; background:#fff; }
.card .k { color:var(--muted); font-size:12px; } .card .v { font-size:22px; font-weight:600; }
table { border-collapse:collapse; width:100%; }
th,td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; background:var(--soft); }
td.num,th.num { text-align:right; font-variant-numeric:tabular-nums; }
h1 .badge,h2 .badge,h3 .badge,p .badge { margin-left:8px; vertical-align:2px; }
.badge { display:inline-block; padding:0 8px; border-radius:10px; font-size:12px; font-weight:600; border:1px solid currentColor; white-space:nowrap; }
.v-pass { color:var(--pass); } .v-revised { color:var(--revised); } .v-flagged { color:var(--flagged); } .v-blocked { color:var(--blocked); } .v-error { color:var(--muted); }
.s-critical { color:var(--blocked); } .s-major { color:var(--flagged); } .s-minor { color:var(--muted); }
.r-confirmed { color:var(--pass); } .r-false_positive { color:var(--blocked); } .r-unreviewed { color:var(--muted); }
.text { white-space:pre-wrap; word-break:break-word; font:13px/1.55 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  background:var(--soft); border:1px solid var(--line); border-radius:6px; padding:10px 12px; margin:6px 0; }
mark { background:#fff3b0; border-bottom:2px solid #d4a72c; padding:0 1px; color:inherit; }
a.evidence { color:inherit; text-decoration:none; }
ins { background:#dafbe1; color:#116329; text-decoration:none; } del { background:#ffebe9; color:#a40e26; }
del + ins { margin-left:2px; }
form.filters { display:grid; grid-template-columns:repeat(auto-fill,minmax(160px,1fr)); gap:8px 12px; align-items:end;
  padding:12px; border:1px solid var(--line); border-radius:8px; background:var(--soft); margin-bottom:16px; }
label { display:flex; flex-direction:column; gap:2px; font-size:12px; color:var(--muted); }
input,select,button { font:inherit; height:32px; padding:4px 8px; border:1px solid var(--line); border-radius:6px; background:#fff; color:var(--fg); }
button { cursor:pointer; background:var(--soft); font-weight:600; } button.primary { background:var(--accent); color:#fff; border-color:var(--accent); }
button.ok { color:var(--pass); } button.bad { color:var(--blocked); }
.actions { display:flex; gap:8px; align-items:center; }
.pager { display:flex; gap:16px; margin-top:12px; }
.bar { display:flex; height:14px; border-radius:7px; overflow:hidden; background:var(--soft); border:1px solid var(--line); }
.legend { display:flex; flex-wrap:wrap; gap:4px 16px; font-size:12px; margin-top:6px; }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
.violation { border:1px solid var(--line); border-left:4px solid var(--flagged); border-radius:6px; padding:8px 12px; margin:8px 0; }
.violation.sev-critical { border-left-color:var(--blocked); } .violation.sev-minor { border-left-color:var(--line); }
.violation form { display:flex; gap:8px; flex-wrap:wrap; margin-top:6px; } .violation input[name=note] { flex:1; min-width:200px; }
.round { border-top:1px dashed var(--line); padding-top:6px; margin-top:12px; }
.notice { padding:10px 14px; border-radius:6px; border:1px solid var(--line); background:var(--soft); }
.notice.error { border-color:var(--blocked); color:var(--blocked); background:#ffebe9; }
.login { max-width:380px; margin:12vh auto; } .login form { display:flex; flex-direction:column; gap:12px; }
dl.meta { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:0; } dl.meta dt { color:var(--muted); } dl.meta dd { margin:0; }
details summary { cursor:pointer; color:var(--accent); }
.choice { margin:8px 0 16px; }
/* Long principle names, keys and ids wrap (at their dashes first) instead of squeezing the page. */
td { overflow-wrap:break-word; } dl.meta dd, .actions strong, h1 code { overflow-wrap:anywhere; }
.actions { flex-wrap:wrap; }
/* Phones: tables scroll sideways inside the page instead of cutting it off; the meta list stacks. */
@media (max-width: 720px) {
  header.top { flex-wrap:wrap; gap:6px 16px; padding:8px 12px; }
  main { padding:12px 12px 32px; }
  table { display:block; overflow-x:auto; }
  dl.meta { grid-template-columns:1fr; } dl.meta dd { margin-bottom:6px; }
  .violation input[name=note] { min-width:0; width:100%; }
}
`;

export interface LayoutProps {
  title: string;
  /** The nav entry to highlight; none on the sign-in pages. */
  active?: 'overview' | 'violations' | undefined;
  signedIn?: boolean;
}

export const Layout: FC<PropsWithChildren<LayoutProps>> = ({ title, active, signedIn = true, children }) =>
  html`<!doctype html>${(
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <link rel="icon" href="data:," />
        <title>{title} · Tenet</title>
        {/* A constant stylesheet, never logged text: the only raw markup on any page. */}
        <style>{raw(css)}</style>
      </head>
      <body>
        <header class="top">
          <a class="brand" href={base}>
            Tenet
          </a>
          {signedIn ? (
            <>
              <nav>
                <a href={base} class={active === 'overview' ? 'on' : undefined}>
                  Overview
                </a>
                <a href={`${base}/violations`} class={active === 'violations' ? 'on' : undefined}>
                  Violations
                </a>
              </nav>
              <form method="post" action={`${base}/logout`}>
                <button type="submit">Sign out</button>
              </form>
            </>
          ) : null}
        </header>
        <main>{children}</main>
      </body>
    </html>
  )}`;

export const VerdictBadge: FC<{ verdict: string }> = ({ verdict }) => (
  <span class={`badge v-${verdict}`}>{verdict}</span>
);

export const SeverityBadge: FC<{ severity: string }> = ({ severity }) => (
  <span class={`badge s-${severity}`}>{severity}</span>
);

/** A page that only says something: errors, not found, admin closed. */
export const MessagePage: FC<{ title: string; message: Child; signedIn?: boolean }> = ({
  title,
  message,
  signedIn = true,
}) => (
  <Layout title={title} signedIn={signedIn}>
    <h1>{title}</h1>
    <p class="notice">{message}</p>
  </Layout>
);
