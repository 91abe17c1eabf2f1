// The violation list: a filter form read from the query string, the matching violations, cursor pagination.
import type { FC } from 'hono/jsx';
import type { z } from 'zod';
import { severities } from '../../core/constitution/schema.ts';
import { protocolIds } from '../../core/exchange/protocol.ts';
import { filterOf, type lenientViolationsQuery, shadowStates } from '../../core/log-filter.ts';
import { verdicts } from '../../core/log-record.ts';
import type { PageQuery, ViolationRow } from '../../core/log-store.ts';
import { clip, formatTime, toLocalInput } from './format.ts';
import { base, Layout, SeverityBadge, VerdictBadge } from './layout.tsx';

const reviewChoices = ['unreviewed', 'confirmed', 'false_positive'] as const;
const textFields = ['principle', 'constitution', 'version', 'model', 'q'] as const;

/** The store query of a list URL's parameters (validated at the edge with `lenientViolationsQuery`). */
export function violationQuery(params: z.infer<typeof lenientViolationsQuery>): PageQuery {
  return { ...filterOf(params), limit: params.limit ?? 50 };
}

/** The list URL for a query (without its cursor unless one is given): filters survive paging. */
export function violationsUrl(query: PageQuery, cursor?: string): string {
  const params = new URLSearchParams();
  for (const field of textFields) if (query[field]) params.set(field, query[field]);
  if (query.clientRequestId) params.set('client_request_id', query.clientRequestId);
  if (query.severity) params.set('severity', query.severity);
  if (query.verdict) params.set('verdict', query.verdict);
  if (query.protocol) params.set('protocol', query.protocol);
  if (query.review) params.set('review', query.review);
  if (query.shadow) params.set('shadow', query.shadow);
  if (query.from !== undefined) params.set('from', toLocalInput(query.from));
  if (query.to !== undefined) params.set('to', toLocalInput(query.to));
  if (query.limit !== undefined && query.limit !== 50) params.set('limit', String(query.limit));
  if (cursor) params.set('cursor', cursor);
  const search = params.toString();
  return `${base}/violations${search ? `?${search}` : ''}`;
}

const Select: FC<{ name: string; label: string; value: string | undefined; options: readonly string[] }> = (
  props,
) => (
  <label>
    {props.label}
    <select name={props.name}>
      <option value="">any</option>
      {props.options.map((o) => (
        <option value={o} selected={props.value === o}>
          {o.replace('_', ' ')}
        </option>
      ))}
    </select>
  </label>
);

export interface FilterOptions {
  principles: string[];
  constitutions: string[];
}

const Filters: FC<{ query: PageQuery; options: FilterOptions }> = ({ query, options }) => (
  <form class="filters" method="get" action={`${base}/violations`}>
    <label>
      principle
      <input name="principle" value={query.principle ?? ''} list="principle-ids" placeholder="any" />
    </label>
    <Select name="severity" label="severity" value={query.severity} options={severities} />
    <label>
      constitution
      <input
        name="constitution"
        value={query.constitution ?? ''}
        list="constitution-names"
        placeholder="any"
      />
    </label>
    <label>
      version (hash)
      <input name="version" value={query.version ?? ''} placeholder="any" />
    </label>
    <Select name="verdict" label="verdict" value={query.verdict} options={verdicts} />
    <Select name="protocol" label="API" value={query.protocol} options={protocolIds} />
    <label>
      model
      <input name="model" value={query.model ?? ''} placeholder="any" />
    </label>
    <Select name="review" label="review" value={query.review} options={reviewChoices} />
    <Select name="shadow" label="shadow candidate" value={query.shadow} options={shadowStates} />
    <label>
      text (evidence, critique)
      <input type="search" name="q" value={query.q ?? ''} placeholder="words…" />
    </label>
    <label>
      from (UTC)
      <input
        type="datetime-local"
        name="from"
        value={query.from !== undefined ? toLocalInput(query.from) : ''}
      />
    </label>
    <label>
      to (UTC)
      <input type="datetime-local" name="to" value={query.to !== undefined ? toLocalInput(query.to) : ''} />
    </label>
    {query.limit !== undefined && query.limit !== 50 ? (
      <input type="hidden" name="limit" value={String(query.limit)} />
    ) : null}
    <div class="actions">
      <button type="submit" class="primary">
        Filter
      </button>
      <a href={`${base}/violations`}>Clear</a>
    </div>
    <datalist id="principle-ids">
      {options.principles.map((p) => (
        <option value={p} />
      ))}
    </datalist>
    <datalist id="constitution-names">
      {options.constitutions.map((c) => (
        <option value={c} />
      ))}
    </datalist>
  </form>
);

const ReviewState: FC<{ review: ViolationRow['review'] }> = ({ review }) =>
  review ? (
    <span class={`badge r-${review.label}`} title={review.note || undefined}>
      {review.label.replace('_', ' ')}
    </span>
  ) : (
    <span class="badge r-unreviewed">unreviewed</span>
  );

export const ViolationsPage: FC<{
  query: PageQuery;
  items: ViolationRow[];
  next: string | null;
  options: FilterOptions;
}> = ({ query, items, next, options }) => (
  <Layout title="Violations" active="violations">
    <h1>Violations</h1>
    <Filters query={query} options={options} />
    {items.length === 0 ? (
      <p class="notice">No violations match these filters.</p>
    ) : (
      <table id="violations">
        <thead>
          <tr>
            <th>time (UTC)</th>
            <th>principle</th>
            <th>severity</th>
            <th>action</th>
            <th>verdict</th>
            <th>evidence</th>
            <th>constitution</th>
            <th>model</th>
            <th>review</th>
          </tr>
        </thead>
        <tbody>
          {items.map((v) => (
            <tr data-violation={v.id}>
              <td>
                <a href={`${base}/requests/${encodeURIComponent(v.requestId)}#v-${v.id}`}>
                  {formatTime(v.time)}
                </a>
              </td>
              <td>
                <strong>{v.principle}</strong>
                <div class="muted small">
                  {v.stage} · round {v.round} · {v.source}
                </div>
              </td>
              <td>
                <SeverityBadge severity={v.severity} />
              </td>
              <td>{v.action}</td>
              <td>
                <VerdictBadge verdict={v.verdict} />
              </td>
              <td>
                {v.evidence !== null ? <q>{clip(v.evidence)}</q> : <span class="muted">not logged</span>}
                <div class="muted small">{clip(v.critique)}</div>
              </td>
              <td>
                {v.constitution}
                <div class="muted small">
                  <code>{v.constitutionHash}</code>
                </div>
              </td>
              <td>{v.model}</td>
              <td>
                <ReviewState review={v.review} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
    <nav class="pager" aria-label="Pages">
      {query.cursor ? <a href={violationsUrl(query)}>First page</a> : null}
      {next ? (
        <a href={violationsUrl(query, next)} rel="next">
          Next page →
        </a>
      ) : null}
    </nav>
  </Layout>
);
