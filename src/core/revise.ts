// The revision call: one request to the client's model that fixes every open violation and keeps the rest.

import type { Principle } from './constitution/schema.ts';
import type { ChatMessage } from './critique.ts';
import type { Violation } from './verdict.ts';

export const revisionSystemPrompt = `You revise an assistant's answer so that it no longer breaks the principles named in the
next message. Rules:
- Fix exactly the problems listed, each as its "how to fix" says; keep everything else: the facts and
  steps that were right, the language, the tone, the format and roughly the length.
- Still answer the user's request fully and directly. Do not become evasive, vague or preachy, do not
  add disclaimers or moral lectures the request does not need, and do not refuse a reasonable request.
- Never mention this review, the principles, a policy or that the answer was revised.
- Reply with the revised answer text only.`;

/** The messages of a revision: the conversation, the answer as the assistant's turn, then what to fix. */
export function revisionMessages(
  conversation: readonly ChatMessage[],
  answer: string,
  violations: readonly Violation[],
  principles: readonly Principle[],
): ChatMessage[] {
  const problems = violations
    .map((v, i) => {
      const p = principles.find((q) => q.id === v.principle);
      const fix = p?.revision ?? `Rewrite the answer so it no longer breaks "${p?.title ?? v.principle}".`;
      return `${i + 1}. ${p?.title ?? v.principle}\n   quote: ${JSON.stringify(v.evidence.slice(0, 300))}\n   problem: ${v.critique}\n   how to fix: ${fix}`;
    })
    .join('\n');
  return [
    { role: 'system', content: revisionSystemPrompt },
    ...conversation.filter((m) => m.role !== 'system' && m.role !== 'developer'),
    { role: 'assistant', content: answer },
    {
      role: 'user',
      content: `Rewrite your previous answer to fix these problems, following the rules above:\n${problems}`,
    },
  ];
}
