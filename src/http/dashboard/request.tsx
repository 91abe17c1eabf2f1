// The request page: prompt, verdict and reason, the draft → final diff, every round with its marked evidence, calls.

import type { FC } from 'hono/jsx';
import { diffTexts } from '../../core/diff.ts';
import type { ProtocolId } from '../../core/exchange/protocol.ts';
import type { RoundRecord, StageRecord } from '../../core/log-record.ts';
import type { RequestDetail, ViolationRow } from '../../core/log-store.ts';
import { formatCount, formatMs, formatTime } from './format.ts';
import { base, Layout, VerdictBadge } from './layout.tsx';
import { Shadow } from './shadow-section.tsx';
import { DiffText, MarkedText } from './text-marks.tsx';
import { ViolationCard, violationAnchor } from './violation-card.tsx';

const NotLogged: FC<{ content: string }> = ({ content }) => (
  <p class="muted">Not logged (the constitution's content setting is {content}).</p>
);

const inRound = (violations: ViolationRow[], stage: StageRecord, round: RoundRecord) =>
  violations.filter((v) => v.stage === stage.stage && v.choice === stage.choice && v.round === round.index);

const Round: FC<{
  stage: StageRecord;
  round: RoundRecord;
  previous: RoundRecord | undefined;
  violations: ViolationRow[];
  content: string;
}> = ({ stage, round, previous, violations, content }) => {
  const quotesIn = (part: string) =>
    violations.flatMap((v) =>
      v.evidence && (v.at?.part ?? 'text') === part
        ? [{ text: v.evidence, label: v.principle, target: violationAnchor(v.id), start: v.at?.start }]
        : [],
    );
  const quotes = quotesIn('text');
  return (
    <div class="round" data-round={round.index} data-kind={round.kind}>
      <h3>
        Round {round.index} · {round.kind}
        {round.index === stage.chosen ? <span class="badge v-pass">chosen</span> : null}
        {round.truncated ? (
          <span class="badge s-major">
            {round.unjudgedChars ? `${formatCount(round.unjudgedChars)} characters not judged` : 'truncated'}
          </span>
        ) : null}
        {round.windows ? <span class="badge">{round.windows.length} critic windows</span> : null}
        {round.answersRequest === false ? <span class="badge s-critical">no longer answers</span> : null}
      </h3>
      {round.failedRevision ? <p class="notice error">Revision failed: {round.failedRevision}</p> : null}
      {round.text !== null ? (
        round.text === '' && round.toolCalls?.length ? null : (
          <MarkedText text={round.text} quotes={quotes} />
        )
      ) : (
        <NotLogged content={content} />
      )}
      {(round.toolCalls ?? []).map((call, i) => (
        <div class="tool-call" data-tool-call={i}>
          <span class="muted">Tool call {i + 1}: </span>
          <code>{call.name}</code>
          {call.arguments !== null ? (
            <MarkedText
              text={`name: ${call.name}\narguments: ${call.arguments}`}
              quotes={quotesIn(`tool_call:${i}`)}
            />
          ) : (
            <NotLogged content={content} />
          )}
        </div>
      ))}
      {round.windows ? (
        <details class="windows">
          <summary>Judged in {round.windows.length} overlapping windows</summary>
          <ol>
            {round.windows.map((w) => (
              <li>{w.map((p) => `${p.part} ${formatCount(p.start)}–${formatCount(p.end)}`).join(', ')}</li>
            ))}
          </ol>
        </details>
      ) : null}
      {round.kind === 'revision' && previous?.text != null && round.text !== null ? (
        <details>
          <summary>Changes from round {previous.index}</summary>
          <DiffText parts={diffTexts(previous.text, round.text)} />
        </details>
      ) : null}
      {violations.length === 0 ? (
        <p class="muted small">No violations in this round.</p>
      ) : (
        violations.map((v) => <ViolationCard violation={v} />)
      )}
    </div>
  );
};

const Stage: FC<{ stage: StageRecord; violations: ViolationRow[]; content: string }> = ({
  stage,
  violations,
  content,
}) => (
  <section class="stage">
    <h2>
      {stage.stage === 'input' ? 'Input' : `Output${stage.choice > 0 ? ` · choice ${stage.choice}` : ''}`}{' '}
      <VerdictBadge verdict={stage.verdict} />
    </h2>
    <p>
      <span class="muted">Reason: </span>
      {stage.reason}
      {stage.criticFault ? <span class="badge s-critical">critic fault {stage.criticFault}</span> : null}
    </p>
    {stage.stage === 'input' && !violations.some((v) => v.stage === 'input')
      ? null // A clean input is the prompt shown above; its round adds nothing.
      : stage.rounds.map((round, i) => (
          <Round
            stage={stage}
            round={round}
            previous={stage.rounds[i - 1]}
            violations={inRound(violations, stage, round)}
            content={content}
          />
        ))}
  </section>
);

/** Every model and critic call of the request with its latency and tokens. */
const Calls: FC<{ detail: RequestDetail }> = ({ detail }) => {
  const { record } = detail;
  const rows: Array<{
    call: string;
    where: string;
    latency: number;
    tokens: number | null;
    cachedTokens?: number | undefined;
    note: string;
  }> = [];
  if (record.draftCall) {
    rows.push({
      call: 'draft',
      where: 'upstream',
      latency: record.draftCall.latencyMs,
      tokens: record.draftCall.usage?.total_tokens ?? null,
      note: '',
    });
  }
  for (const stage of record.stages) {
    const where = stage.stage === 'input' ? 'input' : `choice ${stage.choice}`;
    for (const round of stage.rounds) {
      if (round.revision) {
        rows.push({
          call: `revision (round ${round.index})`,
          where,
          latency: round.revision.latencyMs,
          tokens: round.revision.usage.total_tokens,
          note: '',
        });
      }
      for (const c of round.critic) {
        const windowNote = c.window !== undefined ? `, window ${c.window + 1}` : '';
        rows.push({
          call: `critic (round ${round.index}${windowNote}, attempt ${c.attempt})`,
          where,
          latency: c.latencyMs,
          tokens: c.tokens,
          cachedTokens: c.cachedTokens,
          note: [c.cached ? 'cached' : '', c.fault ? `${c.fault.code}: ${c.fault.message}` : '']
            .filter(Boolean)
            .join(' · '),
        });
      }
    }
  }
  if (rows.length === 0) return <p class="muted">No model calls (decided by rules alone).</p>;
  return (
    <table id="calls">
      <thead>
        <tr>
          <th>call</th>
          <th>stage</th>
          <th class="num">latency</th>
          <th class="num">tokens</th>
          <th class="num">prompt cached</th>
          <th>note</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr>
            <td>{r.call}</td>
            <td>{r.where}</td>
            <td class="num">{formatMs(r.latency)}</td>
            <td class="num">{formatCount(r.tokens)}</td>
            <td class="num">{r.cachedTokens === undefined ? '' : formatCount(r.cachedTokens)}</td>
            <td class="small">{r.note}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

const FinalDiff: FC<{ draft: string | null; final: string | null; content: string }> = ({
  draft,
  final,
  content,
}) => {
  if (draft === null || final === null) {
    if (final !== null) return <div class="text">{final}</div>;
    return <NotLogged content={content} />;
  }
  if (draft === final) {
    return (
      <>
        <p class="muted small">The final answer is the draft, unchanged.</p>
        <div class="text">{final}</div>
      </>
    );
  }
  return <DiffText parts={diffTexts(draft, final)} />;
};

/** Choice `stage.choice`'s own draft and final: n > 1 judges and revises every choice on its own. */
const ChoiceDiff: FC<{ stage: StageRecord; content: string }> = ({ stage, content }) => {
  const draft = stage.rounds.find((r) => r.kind === 'draft')?.text ?? null;
  const final = stage.rounds.find((r) => r.index === stage.chosen)?.text ?? null;
  return (
    <div class="choice" data-choice={stage.choice}>
      <h3>
        Choice {stage.choice} <VerdictBadge verdict={stage.verdict} />
      </h3>
      {stage.verdict === 'blocked' ? (
        <p class="muted small">Blocked: the client got the refusal instead of this choice.</p>
      ) : null}
      <FinalDiff draft={draft} final={final} content={content} />
    </div>
  );
};

/** What each protocol id means to a reviewer. */
const protocolNames: Record<ProtocolId, string> = {
  chat: 'OpenAI Chat Completions',
  responses: 'OpenAI Responses',
  completions: 'OpenAI Completions (legacy)',
  messages: 'Anthropic Messages',
};

/** The critic model, or why there is none: verdicts all from the cache, or no critic call at all. */
function criticModelOf(detail: RequestDetail): string {
  if (detail.row.criticModel) return detail.row.criticModel;
  const calls = detail.record.stages.flatMap((s) => s.rounds.flatMap((r) => r.critic));
  if (calls.length > 0 && calls.every((c) => c.cached)) return 'none called (verdicts from the cache)';
  return '—';
}

export const RequestPage: FC<{ detail: RequestDetail }> = ({ detail }) => {
  const { row, record, violations } = detail;
  const assigned = new Set(
    record.stages.flatMap((s) => s.rounds.flatMap((r) => inRound(violations, s, r).map((v) => v.id))),
  );
  const rest = violations.filter((v) => !assigned.has(v.id));
  const outputs = record.stages.filter((s) => s.stage === 'output');
  return (
    <Layout title={`Request ${row.id}`} active="violations">
      <h1>
        Request <code>{row.id}</code> <VerdictBadge verdict={row.verdict} />
      </h1>
      <dl class="meta">
        <dt>time</dt>
        <dd>{formatTime(row.time)} UTC</dd>
        <dt>constitution</dt>
        <dd>
          <a href={`${base}/violations?${new URLSearchParams({ constitution: row.constitution })}`}>
            {row.constitution}
          </a>
          @<code>{row.constitutionHash}</code>
        </dd>
        <dt>API</dt>
        <dd>{protocolNames[row.protocol]}</dd>
        <dt>model / critic</dt>
        <dd>
          {row.model} / {criticModelOf(detail)}
        </dd>
        <dt>client key</dt>
        <dd>{row.keyId}</dd>
        {row.clientRequestId !== null ? (
          <>
            <dt>client request id</dt>
            <dd>
              <code>{row.clientRequestId}</code>
            </dd>
          </>
        ) : null}
        <dt>rounds / revisions</dt>
        <dd>
          {row.rounds} / {row.revisions} {row.stream ? '· streamed' : ''}
        </dd>
        <dt>latency</dt>
        <dd>{formatMs(row.latencyMs)}</dd>
        <dt>tokens</dt>
        <dd>
          {formatCount(row.modelTokens)} model + {formatCount(row.criticTokens)} critic
        </dd>
        {row.criticError ? (
          <>
            <dt>critic error</dt>
            <dd class="s-critical">{row.criticError}</dd>
          </>
        ) : null}
        {record.error ? (
          <>
            <dt>error</dt>
            <dd class="s-critical">
              <code>{record.error.code}</code> (HTTP {record.error.status}): {record.error.message}
            </dd>
          </>
        ) : null}
        <dt>reason</dt>
        <dd>{row.reason}</dd>
      </dl>
      <h2>Prompt</h2>
      {record.prompt !== null ? (
        <div class="text">{record.prompt}</div>
      ) : (
        <NotLogged content={record.content} />
      )}
      <section id="draft-final">
        <h2>Draft → final</h2>
        {outputs.length > 1 ? (
          outputs.map((stage) => <ChoiceDiff stage={stage} content={record.content} />)
        ) : (
          <FinalDiff draft={record.draft} final={record.final} content={record.content} />
        )}
      </section>
      {record.stages.map((stage) => (
        <Stage stage={stage} violations={violations} content={record.content} />
      ))}
      {rest.length > 0 ? (
        <section>
          <h2>Other violations</h2>
          {rest.map((v) => (
            <ViolationCard violation={v} />
          ))}
        </section>
      ) : null}
      {record.shadow ? <Shadow shadow={record.shadow} /> : null}
      <h2>Calls</h2>
      <Calls detail={detail} />
    </Layout>
  );
};
