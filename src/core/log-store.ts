// The log store's interface: one contract, three backends (D1 on Workers, SQLite or Postgres on Node) sharing the SQL.
import type { ProtocolId } from './exchange/protocol.ts';
import type { LoggedVerdict, RequestRecord } from './log-record.ts';
import type { TestRun, TestRunSummary } from './quality/test-run.ts';

/** Filters shared by request and violation listings, stats and exports (all optional, combined with AND). */
export interface LogFilter {
  principle?: string;
  severity?: 'minor' | 'major' | 'critical';
  constitution?: string;
  /** A version: the constitution's hash (with or without `name@`). */
  version?: string;
  verdict?: LoggedVerdict;
  model?: string;
  /** The client-facing API: chat | responses | completions | messages. */
  protocol?: ProtocolId;
  /** The client's own request id (`x-client-request-id`), exact. */
  clientRequestId?: string;
  /** Time range, ms since the epoch: from inclusive, to exclusive. */
  from?: number;
  to?: number;
  /** Text search: evidence and critique for violations; prompt, draft and final for requests. */
  q?: string;
  /** Violations only: review state. */
  review?: 'confirmed' | 'false_positive' | 'unreviewed';
  /** Shadow mode: requests a candidate judged, and where it agreed or disagreed with the primary. */
  shadow?: 'judged' | 'agree' | 'disagree';
}

export interface PageQuery extends LogFilter {
  /** Opaque, from the previous page's `next`. */
  cursor?: string;
  /** 1-500, default 50. */
  limit?: number;
}

export interface Page<T> {
  items: T[];
  /** The cursor of the next page; null on the last page. */
  next: string | null;
}

export interface RequestRow {
  id: string;
  time: number;
  keyId: string;
  constitution: string;
  constitutionHash: string;
  model: string;
  criticModel: string | null;
  verdict: LoggedVerdict;
  stream: boolean;
  rounds: number;
  revisions: number;
  violationCount: number;
  latencyMs: number;
  modelTokens: number;
  criticTokens: number;
  criticError: string | null;
  reason: string;
  prompt: string | null;
  /** Verdict `error`: the error code the client got. */
  errorCode: string | null;
  /** Shadow mode: the candidate's name@hash, what it would have done, and whether it disagreed. */
  shadow: string | null;
  shadowVerdict: string | null;
  shadowDisagrees: boolean | null;
  /** The client-facing API the request came in on. */
  protocol: ProtocolId;
  /** The client's own id for the request, if it sent one. */
  clientRequestId: string | null;
}

export interface ViolationRow {
  id: string;
  requestId: string;
  time: number;
  constitution: string;
  constitutionHash: string;
  model: string;
  verdict: LoggedVerdict;
  stage: 'input' | 'output';
  choice: number;
  round: number;
  principle: string;
  severity: 'minor' | 'major' | 'critical';
  action: 'revise' | 'block' | 'flag';
  source: 'rule' | 'critic';
  evidence: string | null;
  critique: string;
  /** Where the evidence is in its round's answer (null before migration 0010, or when it quotes nothing). */
  at: { part: string; start: number } | null;
  review: { label: 'confirmed' | 'false_positive'; note: string; time: number } | null;
}

/** One request in full: its row, the whole record (every round), and its violations with reviews. */
export interface RequestDetail {
  row: RequestRow;
  record: RequestRecord;
  violations: ViolationRow[];
}

export interface StatsQuery extends LogFilter {
  bucket?: 'hour' | 'day';
}

export interface PrincipleStats {
  principle: string;
  violations: number;
  confirmed: number;
  falsePositive: number;
  unreviewed: number;
  /** confirmed / (confirmed + false positives); null before any label. */
  precision: number | null;
}

export interface Stats {
  requests: number;
  verdicts: Record<LoggedVerdict, number>;
  /** Violations per principle per bucket (bucket start, ms). */
  series: Array<{ bucket: number; principle: string; count: number }>;
  principles: PrincipleStats[];
  /** Of the requests that needed a revision, the share that came out clean (verdict revised). */
  revisionSuccessRate: number | null;
  /** Share of requests with a critic failure. */
  criticErrorRate: number | null;
  latency: { p50: number | null; p95: number | null };
  /** Shadow mode: requests a candidate judged, how many it disagreed on, and per principle who alone found it. */
  shadow: {
    judged: number;
    disagreements: number;
    principles: Array<{ principle: string; onlyShadow: number; onlyPrimary: number }>;
  };
  tokens: { model: number; critic: number; perRequest: { model: number | null; critic: number | null } };
}

export interface ConstitutionUse {
  name: string;
  hash: string;
  requests: number;
  /** Critic tokens of all its requests (what the version costs to judge). */
  criticTokens: number;
  first: number;
  last: number;
}

export interface TestRunQuery {
  constitution?: string;
  /** A version's hash (with or without `name@`). */
  version?: string;
  /** Only the newest run of each constitution. */
  latestPerConstitution?: boolean;
  /** 1-100, default 20. */
  limit?: number;
}

export interface LogStore {
  /** Writes records; writing one that is already stored changes nothing (retries are safe). */
  write(records: readonly RequestRecord[]): Promise<void>;
  listRequests(query: PageQuery): Promise<Page<RequestRow>>;
  listViolations(query: PageQuery): Promise<Page<ViolationRow>>;
  getRequest(id: string): Promise<RequestDetail | undefined>;
  /**
   * Labels a violation (the latest label wins); false when there is no such violation. `time`: when it was
   * labelled (default now; an import keeps the original).
   */
  review(
    violationId: string,
    label: 'confirmed' | 'false_positive',
    note: string,
    time?: number,
  ): Promise<boolean>;
  stats(query: StatsQuery): Promise<Stats>;
  constitutions(): Promise<ConstitutionUse[]>;
  /** Every matching request, oldest first, page by page: exports run in constant memory. */
  exportRequests(filter: LogFilter): AsyncIterable<RequestRecord>;
  exportViolations(filter: LogFilter): AsyncIterable<ViolationRow>;
  /** Deletes records older than `before` (ms); returns how many requests went. */
  purge(before: number): Promise<number>;
  /** Keeps a `tenet test` run (the id is the caller's; writing it again changes nothing). */
  writeTestRun(run: TestRun): Promise<void>;
  /** Test runs, newest first, as summaries. */
  listTestRuns(query: TestRunQuery): Promise<TestRunSummary[]>;
  getTestRun(id: string): Promise<TestRun | undefined>;
}
