// Deterministic checks: each kind's judge (check-kinds/), composed once per check, decided without a critic call.
import { checkKinds } from './check-kinds/index.ts';
import type { CheckHit, KindJudge } from './check-kinds/kind.ts';
import type { CheckSpec } from './schema.ts';

export type { CheckHit } from './check-kinds/kind.ts';

export type CompiledCheck = (text: string) => CheckHit | null;

/**
 * Patterns, keywords and detectors read at most this many characters of a text (lengths count all of it).
 * Patterns are checked for catastrophic backtracking when they load (regex-safety.ts); this bounds what is left,
 * e.g. the quadratic search of `[A-Z]{2,}@`, and keeps one huge message from holding the event loop. 1 MB is
 * far beyond any model answer (the critic reads every character, in windows: critique.ts `critiqueWindows`).
 */
export const maxCheckedChars = 1_000_000;

/**
 * Compiles a check once; the result judges a text with each kind it uses, in registry order, the first hit
 * winning. `toolCalls`: only the kinds that judge tool calls. Throws on an invalid pattern.
 */
export function compileCheck(spec: CheckSpec, toolCalls = false): CompiledCheck {
  const judges = checkKinds
    .filter((kind) => !toolCalls || kind.toolCalls)
    .map((kind) => kind.compile(spec))
    .filter((judge): judge is KindJudge => judge !== undefined);
  return (whole) => {
    const text = whole.length > maxCheckedChars ? whole.slice(0, maxCheckedChars) : whole;
    for (const judge of judges) {
      const hit = judge(text, whole);
      if (hit) return hit;
    }
    return null;
  };
}

const compiled = {
  text: new WeakMap<CheckSpec, CompiledCheck>(),
  toolCalls: new WeakMap<CheckSpec, CompiledCheck>(),
};

function judge(spec: CheckSpec, on: keyof typeof compiled, text: string): CheckHit | null {
  let fn = compiled[on].get(spec);
  if (!fn) {
    fn = compileCheck(spec, on === 'toolCalls');
    compiled[on].set(spec, fn);
  }
  return fn(text);
}

/** Runs a check, compiling it on first use (specs are immutable once a constitution is resolved). */
export function runCheck(spec: CheckSpec, text: string): CheckHit | null {
  return judge(spec, 'text', text);
}

/** Runs a check on a tool call: the kinds that judge tool calls (not lengths: they are about an answer's text). */
export function runCheckOnToolCall(spec: CheckSpec, call: string): CheckHit | null {
  return judge(spec, 'toolCalls', call);
}
