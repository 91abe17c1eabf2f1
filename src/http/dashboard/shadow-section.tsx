// The request page's shadow section: what the candidate constitution would have done with the same input and draft.
import type { FC } from 'hono/jsx';
import type { ShadowRecord } from '../../core/log-record.ts';
import { formatCount, formatMs } from './format.ts';
import { SeverityBadge, VerdictBadge } from './layout.tsx';

/** Shadow mode: what the candidate would have done with the same input and draft, and where it differs. */
export const Shadow: FC<{ shadow: ShadowRecord }> = ({ shadow }) => (
  <section id="shadow">
    <h2>
      Shadow <code>{shadow.constitution}</code>{' '}
      {shadow.disagrees ? (
        <span class="badge s-critical">disagrees</span>
      ) : (
        <span class="badge v-pass">agrees</span>
      )}
    </h2>
    <p>
      On the draft the candidate would have <VerdictBadge verdict={shadow.verdict} />; the primary, by the
      same rule, <VerdictBadge verdict={shadow.primaryVerdict} />.
      {shadow.onlyShadow.length > 0 ? <> Only the candidate found: {shadow.onlyShadow.join(', ')}.</> : null}
      {shadow.onlyPrimary.length > 0 ? <> Only the primary found: {shadow.onlyPrimary.join(', ')}.</> : null}
      {shadow.criticError ? (
        <span class="s-critical"> Candidate critic error: {shadow.criticError}.</span>
      ) : null}
      <span class="muted small">
        {' '}
        ({formatCount(shadow.criticTokens)} critic tokens, {formatMs(shadow.latencyMs)})
      </span>
    </p>
    {shadow.violations.length > 0 ? (
      <table>
        <thead>
          <tr>
            <th>principle</th>
            <th>stage</th>
            <th>severity</th>
            <th>action</th>
            <th>evidence</th>
            <th>critique</th>
          </tr>
        </thead>
        <tbody>
          {shadow.violations.map((v) => (
            <tr data-shadow-principle={v.principle}>
              <td>{v.principle}</td>
              <td>{v.stage}</td>
              <td>
                <SeverityBadge severity={v.severity} />
              </td>
              <td>{v.action}</td>
              <td>{v.evidence ?? <span class="muted">not logged</span>}</td>
              <td>{v.critique}</td>
            </tr>
          ))}
        </tbody>
      </table>
    ) : null}
  </section>
);
