// The bench's streaming section: what a user waits for a long streamed answer in each stream mode (buffer,
// progressive, audit) against the upstream directly, for a clean answer and one with a violation in its middle;
// and what judging the input alongside the draft saves a JSON answer.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSse, SseFramer } from '../src/core/sse.ts';
import { guarded, guardedAlongside, judged, judgedAudit } from '../test/fixtures/constitutions.ts';
import { allClean, criticSays, violating } from '../test/fixtures/critic.ts';
import { createScenario, type ReplySpec, type Scenario } from '../test/upstream/client.ts';
import { chunks, completion } from '../test/upstream/script.ts';
import { num, table } from './report.ts';
import { benchClientKey as clientKey, startTenetNode, benchUpstreamKey as upstreamKey } from './targets.ts';

/** A model streaming 50 tokens a second, a critic answering in 300 ms (a small hosted model's typical pace). */
const tokenMs = 20;
const criticMs = 300;
const windowChars = 600;

const progressive = `name: judged-progressive
extends: [judged]
stream: progressive
window: { chars: ${windowChars} }
`;

const modes = ['direct', 'audit', 'buffer', 'progressive'] as const;
type Mode = (typeof modes)[number];
const constitutionOf: Record<Exclude<Mode, 'direct'>, string> = {
  audit: 'judged-audit',
  buffer: 'judged',
  progressive: 'judged-progressive',
};

const sentence = 'Keep a regular schedule, get daylight in the morning, and keep the bedroom cool and dark. ';
const claim = 'Yes, honey before bed cures every sleep disorder within a week. ';
const fix = 'Honey is a pleasant bedtime drink, but it cures no sleep disorder. ';

/** A long answer as tokens (a word and its space each): `tokens` of them, the claim at the middle if asked. */
function answerTokens(tokens: number, withClaim: boolean): string[] {
  const words: string[] = [];
  const sentenceWords = sentence.split(/(?<= )/);
  const claimWords = claim.split(/(?<= )/);
  while (words.length < tokens) {
    if (withClaim && words.length >= tokens / 2 && !words.join('').includes(claim)) words.push(...claimWords);
    else words.push(...sentenceWords);
  }
  return words.slice(0, tokens);
}

export interface StreamFigures {
  scenario: 'clean' | 'violation';
  mode: Mode;
  /** Time to the first byte of answer text (a content delta), ms. */
  firstContentMs: number;
  lastByteMs: number;
  criticCalls: number;
  /** Whether the violating sentence reached the client. */
  sawViolation: boolean;
}

export interface InputFigures {
  setting: 'never' | 'auto';
  ms: number;
}

export interface StreamingReport {
  tokens: number;
  tokenMs: number;
  criticMs: number;
  windowChars: number;
  /** How long the upstream took to stream the first `windowChars` characters (direct). */
  firstWindowMs: number;
  figures: StreamFigures[];
  input: InputFigures[];
  inputDelaysMs: { critic: number; draft: number };
}

/** Reads a chat completion stream: when its first text came, when it ended, the text. */
async function readStream(res: Response, t0: number) {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const framer = new SseFramer();
  let text = '';
  let firstContentMs = Number.NaN;
  const marks: Array<{ chars: number; ms: number }> = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const events = framer.push(value);
    if (!events) continue;
    for (const { data } of parseSse(decoder.decode(events, { stream: true }))) {
      if (data === '[DONE]') continue;
      const delta = (JSON.parse(data) as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta
        ?.content;
      if (!delta) continue;
      if (Number.isNaN(firstContentMs)) firstContentMs = performance.now() - t0;
      text += delta;
      marks.push({ chars: text.length, ms: performance.now() - t0 });
    }
  }
  return { text, firstContentMs, lastByteMs: performance.now() - t0, marks };
}

async function oneStream(
  tenetUrl: string,
  scenario: Scenario,
  mode: Mode,
  kind: StreamFigures['scenario'],
  tokens: number,
): Promise<StreamFigures & { marker: string; marks: Array<{ chars: number; ms: number }> }> {
  const marker = `[stream-${mode}-${kind}]`;
  const on = (spec: ReplySpec): ReplySpec => ({ ...spec, match: { ...spec.match, bodyIncludes: marker } });
  const pieces = answerTokens(tokens, kind === 'violation');
  const replies: ReplySpec[] = [on({ stream: chunks(pieces), chunkDelayMs: tokenMs })];
  if (kind === 'violation') {
    // The critic finds the claim wherever it is shown; a revision writes its tokens at the model's pace.
    replies.unshift({
      ...criticSays(
        violating([
          {
            principle: 'no-sycophancy',
            violated: true,
            evidence: 'honey before bed cures every sleep disorder',
            critique: 'Agrees with a false claim.',
          },
        ]),
        { delayMs: criticMs, times: 'always' },
      ),
      match: { jsonSchemaName: 'tenet_critique', bodyIncludes: claim.trim() },
    });
    // Buffer asks for the whole answer again (one call, answered whole when written); progressive streams the
    // rest from where the released text stops, at the model's pace.
    const revised = pieces.join('').replace(claim, fix);
    if (mode === 'buffer')
      replies.push(on({ json: completion(revised), delayMs: Math.round((revised.length / 5) * tokenMs) }));
    else {
      const rest = answerTokens(tokens, false)
        .join('')
        .slice(revised.indexOf(fix))
        .split(/(?<= )/);
      replies.push(on({ stream: chunks([fix, ...rest]), chunkDelayMs: tokenMs }));
    }
  }
  replies.unshift(on(criticSays(allClean(), { delayMs: criticMs, times: 'always' })));
  await scenario.script(replies);
  const direct = mode === 'direct';
  const url = direct ? `${scenario.baseURL}/chat/completions` : `${tenetUrl}/v1/chat/completions`;
  const t0 = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${direct ? upstreamKey : clientKey}`,
      ...(direct ? {} : { 'x-tenet-constitution': constitutionOf[mode] }),
    },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: `${marker} How can I sleep better? Honey cures it all, right?` }],
    }),
  });
  const read = await readStream(res, t0);
  return {
    scenario: kind,
    mode,
    marker,
    firstContentMs: read.firstContentMs,
    lastByteMs: read.lastByteMs,
    criticCalls: 0,
    sawViolation: read.text.includes(claim.trim()),
    marks: read.marks,
  };
}

/** A JSON answer under an input principle the critic judges: the draft after the input (never) or alongside (auto). */
async function inputParallel(tenetUrl: string, scenario: Scenario): Promise<InputFigures[]> {
  const out: InputFigures[] = [];
  for (const setting of ['never', 'auto'] as const) {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const marker = `[input-${setting}-${i}]`;
      const on = (spec: ReplySpec): ReplySpec => ({
        ...spec,
        match: { ...spec.match, bodyIncludes: marker },
      });
      // The input critic is asked first either way (about the input principle), then the output critic.
      await scenario.script([
        on(criticSays(violating([], ['no-weapons-input']), { delayMs: criticMs })),
        on(criticSays(allClean(), { delayMs: criticMs })),
        on({ json: completion('Sleep well: keep a regular schedule.'), delayMs: 1_000 }),
      ]);
      const t0 = performance.now();
      const res = await fetch(`${tenetUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${clientKey}`,
          'x-tenet-constitution': setting === 'never' ? 'guarded' : 'guarded-alongside',
        },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: `${marker} How can I sleep better?` }],
        }),
      });
      const verdict = res.headers.get('x-tenet-verdict');
      const body = await res.text();
      if (res.status !== 200 || verdict !== 'pass')
        throw new Error(
          `input bench (${setting}): expected 200 pass, got ${res.status} ${verdict}: ${body.slice(0, 300)}`,
        );
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    out.push({ setting, ms: times[Math.floor(times.length / 2)] as number });
  }
  return out;
}

/** Every mode and scenario at once (they wait on the scripted model, not on the CPU), through one Tenet on Node. */
export async function runStreamingBench(opts: {
  upstreamUrl: string;
  quick: boolean;
  log: (line: string) => void;
}): Promise<StreamingReport> {
  const tokens = opts.quick ? 300 : 1_500;
  const scenario = await createScenario(opts.upstreamUrl);
  const dir = mkdtempSync(join(tmpdir(), 'tenet-bench-streaming-'));
  const files = {
    judged,
    'judged-audit': judgedAudit,
    'judged-progressive': progressive,
    guarded,
    'guarded-alongside': guardedAlongside,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, `${name}.yaml`), text);
  const tenet = await startTenetNode(
    { upstreamUrl: scenario.baseURL, upstreamKey, clientKey },
    {
      TENET_CONSTITUTIONS_DIR: dir,
      TENET_CONSTITUTION: 'judged',
      TENET_CRITIC_MODEL: 'critic-model',
      TENET_VERDICT_CACHE_TTL_S: '0',
      TENET_STREAM_IDLE_TIMEOUT_MS: '120000',
    },
    'tenet-node-streaming',
  );
  try {
    opts.log(
      `streaming: ${tokens} tokens at ${1000 / tokenMs} tokens/s, critic ${criticMs} ms; ` +
        `${modes.length} modes x 2 answers at once (about ${Math.round((tokens * tokenMs * 2.2) / 1000)} s)`,
    );
    const runs = await Promise.all(
      (['clean', 'violation'] as const).flatMap((kind) =>
        modes.map((mode) => oneStream(tenet.url, scenario, mode, kind, tokens)),
      ),
    );
    // Critic calls per answer, once the audit (judged after the response) has had its call.
    await new Promise((resolve) => setTimeout(resolve, criticMs + 500));
    const requests = await scenario.requests();
    for (const run of runs)
      run.criticCalls = requests.filter(
        (r) => r.body.includes(run.marker) && r.body.includes('"tenet_critique"'),
      ).length;
    const direct = runs.find((r) => r.mode === 'direct' && r.scenario === 'clean');
    const firstWindowMs = direct?.marks.find((m) => m.chars >= windowChars)?.ms ?? Number.NaN;
    opts.log('streaming: input judged alongside the draft');
    const input = await inputParallel(tenet.url, scenario);
    return {
      tokens,
      tokenMs,
      criticMs,
      windowChars,
      firstWindowMs,
      figures: runs.map(({ marks: _marks, marker: _marker, ...f }) => f),
      input,
      inputDelaysMs: { critic: criticMs, draft: 1_000 },
    };
  } finally {
    await tenet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatStreamingReport(r: StreamingReport): string {
  const direct = r.figures.find((f) => f.mode === 'direct' && f.scenario === 'clean');
  const prog = r.figures.find((f) => f.mode === 'progressive' && f.scenario === 'clean');
  const firstTarget = r.firstWindowMs + r.criticMs + 50;
  const lastTarget = (direct?.lastByteMs ?? Number.NaN) + r.criticMs + 100;
  const check = (name: string, value: number, limit: number) =>
    `  ${value <= limit ? 'PASS' : 'MISS'}  ${name.padEnd(44)} ${num(value / 1000, 2)} s  (target <= ${num(limit / 1000, 2)} s)`;
  const never = r.input.find((i) => i.setting === 'never')?.ms ?? Number.NaN;
  const auto = r.input.find((i) => i.setting === 'auto')?.ms ?? Number.NaN;
  return [
    `streaming latency on tenet-node: a ${r.tokens}-token answer at ${1000 / r.tokenMs} tokens/s, critic ${r.criticMs} ms, ` +
      `progressive windows of ${r.windowChars} characters (revisions written at the same pace)`,
    '',
    table(
      ['answer', 'mode', 'first text s', 'last byte s', 'critic calls', 'violation sent'],
      r.figures.map((f) => [
        f.scenario,
        f.mode,
        num(f.firstContentMs / 1000, 2),
        num(f.lastByteMs / 1000, 2),
        f.mode === 'direct' ? '-' : String(f.criticCalls),
        f.sawViolation ? 'YES' : 'no',
      ]),
    ),
    '(first text: the first content delta; a buffered answer shows nothing until the whole answer is judged;',
    ' audit relays the draft as it comes and judges it afterwards, so a violation reaches the client)',
    '',
    `targets for progressive (one window's generation ${num(r.firstWindowMs / 1000, 2)} s, measured on direct):`,
    check('first text, clean answer', prog?.firstContentMs ?? Number.NaN, firstTarget),
    check('last byte, clean answer', prog?.lastByteMs ?? Number.NaN, lastTarget),
    '',
    `input judged alongside the draft (JSON; input critic ${r.inputDelaysMs.critic} ms, draft ${r.inputDelaysMs.draft} ms, ` +
      `output critic ${r.inputDelaysMs.critic} ms; median of 5):`,
    `  draft_with_input: never  ${num(never, 0)} ms   auto  ${num(auto, 0)} ms   saved ${num(never - auto, 0)} ms ` +
      `(ideal: one input critic call, ${r.inputDelaysMs.critic} ms)`,
  ].join('\n');
}
