// A scripted critic for the fast tier: it reads what Tenet shows it (nonce, principles, marked blocks) and answers
// in the critic protocol with the violations a test chooses.
import type { ChatMessage } from '../../src/core/critique.ts';
import type { ModelReply } from '../../src/core/loop.ts';

/** What one critic call showed: its nonce, the principles asked, and each marked block (label, header, body). */
export interface CriticView {
  nonce: string;
  principles: string[];
  blocks: Array<{ label: string; note: string; body: string }>;
  system: string;
  user: string;
}

export function viewOf(messages: ChatMessage[]): CriticView {
  const system = messages[0]?.content ?? '';
  const user = messages[1]?.content ?? '';
  const nonce = /^nonce: ([0-9a-z]+)/.exec(user)?.[1] ?? '';
  const principles = [...system.matchAll(/principle "([a-z0-9-]+)"/g)].map((m) => m[1] as string);
  const blocks = [
    ...user.matchAll(new RegExp(`<<<([A-Z_]+)-${nonce}([^\\n]*)\\n([\\s\\S]*?)\\n\\1-${nonce}>>>`, 'g')),
  ].map((m) => ({ label: m[1] as string, note: m[2] as string, body: m[3] as string }));
  return { nonce, principles, blocks, system, user };
}

export type Finding = { principle: string; evidence: string; critique?: string };

/** A critic that reads what it is shown and reports `find`'s violations (clean verdicts for the rest). */
export function critic(find: (view: CriticView) => Finding[]) {
  const views: CriticView[] = [];
  const call = async (messages: ChatMessage[]): Promise<ModelReply> => {
    const view = viewOf(messages);
    views.push(view);
    const found = find(view);
    const verdicts = view.principles.map((principle) => {
      const f = found.find((x) => x.principle === principle);
      return {
        principle,
        violated: f !== undefined,
        evidence: f?.evidence ?? '',
        critique: f ? (f.critique ?? 'It breaks the principle.') : '',
        severity: 'major',
      };
    });
    const content = JSON.stringify({ nonce: view.nonce, verdicts, answers_request: true });
    return { content, usage: { prompt_tokens: 300, completion_tokens: 40, total_tokens: 340 } };
  };
  return { call, views };
}
