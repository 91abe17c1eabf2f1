// One `tenet test` run as it was reported: per principle its metrics, per example the label, the prediction and why.
import type { FC } from 'hono/jsx';
import type { TestRun } from '../../core/quality/test-run.ts';
import { formatCount, formatMs, formatShare, formatTime } from './format.ts';
import { base, Layout } from './layout.tsx';

type Principle = TestRun['principles'][number];
type Example = Principle['results'][number];

const label = (violates: boolean) => (violates ? 'violates' : 'does not violate');

/** The run that explains the prediction: the first one that disagreed with the label, else the first. */
function telling(e: Example) {
  return e.runs.find((r) => r.outcome !== (e.expected ? 'violated' : 'clean')) ?? e.runs[0];
}

const ExampleRow: FC<{ e: Example; runs: number }> = ({ e, runs }) => {
  const run = telling(e);
  return (
    <tr data-example={e.name}>
      <td>
        <strong>#{e.index}</strong>
        <div class="text">{e.user}</div>
        {e.response !== undefined ? <div class="text">{e.response}</div> : null}
        {e.note ? <div class="muted small">{e.note}</div> : null}
      </td>
      <td>{label(e.expected)}</td>
      <td>
        {e.skipped !== undefined ? <span class="muted">skipped: {e.skipped}</span> : (e.predicted ?? '—')}
      </td>
      <td>
        {e.skipped !== undefined ? (
          <span class="badge s-minor">skipped</span>
        ) : e.passed ? (
          <span class="badge v-pass">pass</span>
        ) : (
          <span class="badge v-blocked">fail</span>
        )}
      </td>
      <td class="num" title="runs that matched the label / runs">
        {runs > 1 ? `${e.correctRuns}/${e.runs.length}` : formatShare(e.agreement)}
      </td>
      <td>
        {run?.fault ? (
          <div class="v-blocked">
            critic error <code>{run.fault.code}</code>: {run.fault.message}
          </div>
        ) : null}
        {run?.evidence ? (
          <div>
            evidence{run.source ? ` (${run.source})` : ''}: <mark>{run.evidence}</mark>
          </div>
        ) : null}
        {run?.critique ? <div class="muted">{run.critique}</div> : null}
        {run?.note ? <div class="muted small">{run.note}</div> : null}
        {run && run.others.length > 0 ? (
          <div class="muted small">also found: {run.others.join(', ')}</div>
        ) : null}
      </td>
    </tr>
  );
};

const PrincipleSection: FC<{ p: Principle; runs: number }> = ({ p, runs }) => (
  <section data-principle={p.id}>
    <h3>
      {p.id} <span class="muted small">{p.stage}</span>
      {p.status !== 'tested' ? (
        <span class="badge s-minor">{p.status}</span>
      ) : p.failed > 0 ? (
        <span class="badge v-blocked">{`${p.passed}/${p.examples} passed`}</span>
      ) : (
        <span class="badge v-pass">{`${p.passed}/${p.examples} passed`}</span>
      )}
    </h3>
    {p.status === 'tested' ? (
      <>
        <p class="muted small">
          precision {formatShare(p.precision)} · recall {formatShare(p.recall)} · false positive rate{' '}
          {formatShare(p.falsePositiveRate)} · TP {p.tp} FP {p.fp} TN {p.tn} FN {p.fn}
          {p.undecided > 0 ? ` · undecided ${p.undecided}` : ''} · critic {formatCount(p.criticTokens)} tokens
        </p>
        <table>
          <thead>
            <tr>
              <th>example</th>
              <th>expected</th>
              <th>predicted</th>
              <th>result</th>
              <th class="num">{runs > 1 ? 'runs right' : 'agreement'}</th>
              <th>critique / evidence</th>
            </tr>
          </thead>
          <tbody>
            {p.results.map((e) => (
              <ExampleRow e={e} runs={runs} />
            ))}
          </tbody>
        </table>
      </>
    ) : null}
  </section>
);

export const TestRunPage: FC<{ run: TestRun }> = ({ run }) => (
  <Layout title={`Test run ${run.version}`} active="overview">
    <h1>
      Test run <code>{run.version}</code>
      {run.ok ? <span class="badge v-pass">ok</span> : <span class="badge v-blocked">failed</span>}
    </h1>
    <dl class="meta">
      <dt>recorded</dt>
      <dd>{formatTime(run.time)} UTC</dd>
      <dt>started</dt>
      <dd>{run.startedAt}</dd>
      <dt>file</dt>
      <dd>{run.file || '—'}</dd>
      <dt>critic</dt>
      <dd>
        {run.criticModel}
        {run.runs > 1 ? `, ${run.runs} runs per example` : ''}
      </dd>
      <dt>examples</dt>
      <dd>
        {run.totals.examples} — {run.totals.passed} passed, {run.totals.failed} failed, {run.totals.skipped}{' '}
        skipped; untested principles: {run.totals.untested}
      </dd>
      <dt>critic cost</dt>
      <dd>
        {formatCount(run.totals.criticTokens)} tokens, {formatMs(run.totals.criticMs)}
      </dd>
      <dt>as JSON</dt>
      <dd>
        <a href={`${base}/api/test-runs/${encodeURIComponent(run.id)}`}>/admin/api/test-runs/{run.id}</a>
      </dd>
    </dl>
    {run.principles.map((p) => (
      <PrincipleSection p={p} runs={run.runs} />
    ))}
  </Layout>
);
