// Content blocks as requests and answers carry them: checked by type where Tenet reads them, kept whole otherwise.
import { z } from 'zod';

export type Block = { type: string; [field: string]: unknown };
export type TextBlock = Block & { type: 'text'; text: string };
export type ToolUseBlock = Block & { type: 'tool_use'; id: string; name: string; input: unknown };

export const isTextBlock = (b: Block): b is TextBlock => b.type === 'text' && typeof b['text'] === 'string';
export const isToolUseBlock = (b: Block): b is ToolUseBlock => b.type === 'tool_use';

export const textBlockCheck = z.looseObject({ text: z.string({ error: 'must be a string' }) });

/** The input of a tool call: a JSON object, as the API requires (the arguments Tenet judges are its JSON). */
const toolInput = z.record(z.string(), z.unknown(), { error: 'must be an object' });

const toolUseBlockCheck = z.looseObject({
  id: z.string({ error: 'must be a string' }),
  name: z.string({ error: 'must be a string' }),
  input: toolInput,
});

/**
 * A block of any type (new block types keep working), with the fields Tenet reads checked for the types it reads.
 * A discriminated union would reject every type it does not list, so the per-type checks run as a refinement.
 */
export function blockSchema(checks: Record<string, z.ZodType>) {
  return z
    .looseObject({ type: z.string({ error: 'must be a string naming the block type' }) })
    .superRefine((block, ctx) => {
      const check = checks[block.type];
      if (!check) return;
      const result = check.safeParse(block);
      if (result.success) return;
      for (const issue of result.error.issues)
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    });
}

/** The checks every block list shares: text blocks have their text, tool_use blocks their id, name and input. */
export const sharedBlockChecks: Record<string, z.ZodType> = {
  text: textBlockCheck,
  tool_use: toolUseBlockCheck,
};

/** A list of text blocks and nothing else, as `system` takes. */
export const textBlocks = z.array(
  z.looseObject({
    type: z.literal('text', { error: "must be 'text'" }),
    text: z.string({ error: 'must be a string' }),
  }),
  { error: 'must be an array of text blocks' },
);

/**
 * The text of a list of blocks. Answer blocks join with '' (they split one text where citations start and end);
 * the turns of a request join with a newline, as every protocol's turns do.
 */
export function textOf(blocks: readonly Block[], separator: string): string | null {
  const texts = blocks.filter(isTextBlock).map((b) => b.text);
  return texts.length === 0 ? null : texts.join(separator);
}
