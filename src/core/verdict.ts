// Violations and verdicts: what a round found, and what the answer becomes because of it.
import { runCheck, runCheckOnToolCall } from './constitution/checks.ts';
import type { Action, Constitution, Principle, Severity, Stage } from './constitution/schema.ts';
import type { EvidenceAt, Segment } from './critique.ts';

export type Verdict = 'pass' | 'revised' | 'flagged' | 'blocked';

export interface Violation {
  principle: string;
  severity: Severity;
  action: Action;
  source: 'rule' | 'critic';
  /** Verbatim from the judged text. */
  evidence: string;
  critique: string;
  /** Where the evidence is: the part of the answer (`text`, `tool_call:N`) and the offset in it. */
  at?: EvidenceAt | undefined;
}

export const severityWeight: Record<Severity, number> = { minor: 1, major: 3, critical: 9 };

/** The principles of a constitution that judge `stage`. */
export function principlesFor(constitution: Constitution, stage: Stage): Principle[] {
  return constitution.principles.filter((p) => p.enabled && p.applies_to === stage);
}

/**
 * Runs every deterministic check of `principles` on the parts of an answer each one targets; each fired check is a
 * violation, located in its part. A tool call is checked as its segment (`name: …` and `arguments: …`), without
 * length limits, which are about the text.
 */
export function checkRules(principles: readonly Principle[], segments: readonly Segment[]): Violation[] {
  const out: Violation[] = [];
  for (const p of principles) {
    if (!p.check) continue;
    for (const segment of segments) {
      if (!p.targets.includes(segment.target)) continue;
      const hit =
        segment.target === 'text'
          ? runCheck(p.check, segment.content)
          : runCheckOnToolCall(p.check, segment.content);
      if (!hit) continue;
      const start = segment.content.indexOf(hit.evidence);
      out.push({
        principle: p.id,
        severity: p.severity,
        action: p.action,
        source: 'rule',
        evidence: hit.evidence,
        critique: `The ${segment.target === 'text' ? 'text' : 'tool call'} ${hit.reason}.`,
        ...(start >= 0 ? { at: { part: segment.part, start } } : {}),
      });
      break;
    }
  }
  return out;
}

/** The text a user wrote last: what input principles judge. */
export function lastUserText(messages: ReadonlyArray<{ role: string; content?: unknown }>): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'user') return contentText(m.content);
  }
  return '';
}

/** The text of a message content: a string, or the text parts of a content array. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (part && typeof part === 'object' && typeof part.text === 'string' ? part.text : ''))
    .filter(Boolean)
    .join('\n');
}
