// One violation on the request page: principle, severity, evidence and critique, its review, and the review form.
import type { FC } from 'hono/jsx';
import type { ViolationRow } from '../../core/log-store.ts';
import { formatTime } from './format.ts';
import { base, SeverityBadge } from './layout.tsx';

export const violationAnchor = (id: string) => `v-${id}`;

const ReviewForm: FC<{ violation: ViolationRow }> = ({ violation }) => (
  <form method="post" action={`${base}/violations/${encodeURIComponent(violation.id)}/review`}>
    <input
      type="hidden"
      name="back"
      value={`${base}/requests/${encodeURIComponent(violation.requestId)}#${violationAnchor(violation.id)}`}
    />
    <input
      name="note"
      maxlength={2000}
      placeholder="Note (optional): why the critic was right or wrong"
      aria-label={`Review note for ${violation.principle}`}
    />
    <button type="submit" name="label" value="confirmed" class="ok">
      Confirm
    </button>
    <button type="submit" name="label" value="false_positive" class="bad">
      False positive
    </button>
  </form>
);

export const ViolationCard: FC<{ violation: ViolationRow }> = ({ violation: v }) => (
  <section
    class={`violation sev-${v.severity}`}
    id={violationAnchor(v.id)}
    data-principle={v.principle}
    data-review={v.review?.label ?? 'unreviewed'}
  >
    <div class="actions">
      <strong>{v.principle}</strong>
      <SeverityBadge severity={v.severity} />
      <span class="muted small">
        action {v.action} · {v.source === 'rule' ? 'deterministic rule' : 'critic'}
      </span>
      <span style="flex:1" />
      {v.review ? (
        <span class={`badge r-${v.review.label}`}>{v.review.label.replace('_', ' ')}</span>
      ) : (
        <span class="badge r-unreviewed">unreviewed</span>
      )}
    </div>
    <div>
      <span class="muted">Evidence: </span>
      {v.evidence !== null && v.evidence !== '' ? (
        <q>
          <mark>{v.evidence}</mark>
        </q>
      ) : (
        <span class="muted">{v.evidence === null ? 'not logged' : 'none given'}</span>
      )}
    </div>
    {v.critique ? (
      <div>
        <span class="muted">Critique: </span>
        {v.critique}
      </div>
    ) : null}
    {v.review ? (
      <div class="small">
        <span class="muted">Reviewed {formatTime(v.review.time)} UTC</span>
        {v.review.note ? <>: {v.review.note}</> : null}
      </div>
    ) : null}
    <ReviewForm violation={v} />
  </section>
);
