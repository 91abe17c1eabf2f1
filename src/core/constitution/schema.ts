// The constitution file format: the zod schema is the single source of truth (types, validation, JSON Schema).
import { z } from 'zod';
import { detectors } from './check-kinds/detect.ts';
import { checkFields, checkKinds } from './check-kinds/index.ts';

const kebab = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export const severities = ['minor', 'major', 'critical'] as const;
export const actions = ['revise', 'block', 'flag'] as const;
export const stages = ['input', 'output'] as const;
export { detectors };
/** The parts of an answer an output principle can judge: its text, and the tool calls it makes. */
export const targets = ['text', 'tool_calls'] as const;

export type Severity = (typeof severities)[number];
export type Action = (typeof actions)[number];
export type Stage = (typeof stages)[number];
export type Detector = (typeof detectors)[number];
export type Target = (typeof targets)[number];

const text = (what: string) => z.string().trim().min(1, `must not be empty (${what})`);

export const checkSchema = z
  .strictObject(checkFields)
  .superRefine((check, ctx) => {
    for (const kind of checkKinds) {
      for (const p of kind.refine?.(check) ?? [])
        ctx.addIssue({ code: 'custom', path: p.path, message: p.message, input: check });
    }
  })
  .meta({
    description:
      'A deterministic check, decided without a critic call. It fires when any part of it does: the pattern ' +
      'matches, a keyword appears, a detector finds something, or the length is out of range.',
  });

export const exampleSchema = z.strictObject({
  user: z.string().meta({ description: "The user's message." }),
  response: z.string().optional().meta({ description: "The assistant's answer (for output principles)." }),
  tool_calls: z
    .array(
      z.strictObject({
        name: z.string().min(1, 'must name the function'),
        arguments: z.string().meta({ description: 'The arguments, as the JSON text a model sends.' }),
      }),
    )
    .optional()
    .meta({ description: 'Tool calls the answer makes (for principles that judge tool calls).' }),
  violates: z.boolean().meta({ description: 'Whether this example breaks the principle.' }),
  note: z.string().optional().meta({ description: 'Why it does or does not.' }),
});

export const principleSchema = z
  .strictObject({
    id: z
      .string()
      .regex(kebab, 'must be kebab-case: lower-case letters and digits joined by dashes, e.g. no-sycophancy')
      .meta({ description: 'Unique id, kebab-case. Shown in headers and logs.' }),
    title: text('title').optional().meta({ description: 'A short human-readable name.' }),
    applies_to: z
      .enum(stages)
      .optional()
      .meta({ description: "What is judged: the user's input or the model's output (default output)." }),
    targets: z
      .array(z.enum(targets))
      .min(1, 'must name at least one part: text, tool_calls')
      .optional()
      .meta({
        description:
          'For output principles: which parts of the answer are judged, its text and/or its tool calls (name and arguments). Default both.',
      }),
    severity: z.enum(severities).optional().meta({ description: 'How bad a violation is (default major).' }),
    action: z.enum(actions).optional().meta({
      description: 'What a violation does: revise the answer, block it, or only flag it (default revise).',
    }),
    critique: text('critique')
      .optional()
      .meta({ description: 'The question the critic answers about the text.' }),
    revision: text('revision')
      .optional()
      .meta({ description: 'How to fix a violating answer (for action revise).' }),
    check: checkSchema.optional(),
    examples: z.array(exampleSchema).optional().meta({ description: 'Examples that double as tests.' }),
    enabled: z
      .boolean()
      .optional()
      .meta({ description: 'Set false to switch the principle off (default true).' }),
  })
  .meta({ description: 'One principle of the constitution.' });

export const overrideSchema = z
  .strictObject({
    enabled: z.boolean().optional(),
    severity: z.enum(severities).optional(),
    action: z.enum(actions).optional(),
  })
  .meta({ description: 'Changes to a principle inherited through `extends`.' });

export const constitutionFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z
      .string()
      .regex(kebab, 'must be kebab-case: lower-case letters and digits joined by dashes, e.g. support-bot')
      .meta({ description: 'The constitution name; must match the file name.' }),
    description: z.string().optional(),
    extends: z
      .array(z.string().regex(kebab, 'must be a constitution name (kebab-case)'))
      .optional()
      .meta({ description: 'Constitutions whose principles this one includes.' }),
    critic: z
      .strictObject({
        model: text('model')
          .optional()
          .meta({ description: 'The critic model (default TENET_CRITIC_MODEL).' }),
        max_revisions: z
          .number()
          .int()
          .min(0)
          .max(5)
          .optional()
          .meta({ description: 'Revision rounds, 0-5 (default 2).' }),
        on_error: z.enum(['fail_closed', 'fail_open']).optional().meta({
          description:
            'When the critic fails: refuse (fail_closed, default) or return the draft (fail_open).',
        }),
        on_exhausted: z
          .enum(['block', 'best_round'])
          .optional()
          .meta({ description: 'When revisions run out: refuse (block, default) or return the best round.' }),
        max_judged_chars: z.number().int().min(1_000).optional().meta({
          description:
            'The longest answer the critic judges (characters, text and tool calls together). Longer answers get on_overflow; without a cap every character is judged, in overlapping windows.',
        }),
        on_overflow: z.enum(['block', 'flag']).optional().meta({
          description:
            'What an answer longer than max_judged_chars gets: refused (block), or its first max_judged_chars judged and the rest flagged as not judged (flag). Required with max_judged_chars.',
        }),
        min_evidence_chars: z.number().int().min(1).max(200).optional().meta({
          description:
            "The shortest evidence quote a critic's violation may give (default 12, or the whole text when it is shorter); shorter quotes are a critic fault.",
        }),
      })
      .superRefine((critic, ctx) => {
        // Nothing over the cap may pass silently: the policy owner says what happens to it.
        if (critic.max_judged_chars !== undefined && critic.on_overflow === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['on_overflow'],
            message: 'is required with max_judged_chars: say block or flag for longer answers',
            input: critic,
          });
        if (critic.on_overflow !== undefined && critic.max_judged_chars === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['max_judged_chars'],
            message: 'is required with on_overflow: the cap it applies to',
            input: critic,
          });
      })
      .optional(),
    shadow: z.string().regex(kebab, 'must be a constitution name (kebab-case)').optional().meta({
      description:
        'A candidate constitution judged on the same live traffic (after the response, never enforced): the log and dashboard show where it disagrees with this one.',
    }),
    stream: z.enum(['buffer', 'audit', 'progressive']).optional().meta({
      description:
        'Streaming: judge the whole answer before sending it (buffer, default), stream it untouched and judge after (audit), or release it window by window as each passes (progressive: nothing unjudged is sent).',
    }),
    window: z
      .strictObject({
        chars: z.number().int().min(100).max(16_000).optional().meta({
          description:
            'About how many characters a progressive window holds (default 600): cut at the next sentence or line end, judged, then released.',
        }),
      })
      .optional()
      .meta({ description: 'The windows of stream: progressive.' }),
    draft_with_input: z.enum(['auto', 'always', 'never']).optional().meta({
      description:
        'When input principles need the critic, the draft can be asked for while the input is judged (a blocked input then cancels it): auto (default) for answers judged before they go out (JSON, progressive streams), always (every stream too), never (the input first; a blocked input costs no draft).',
    }),
    on_block: z
      .strictObject({
        mode: z
          .enum(['message', 'error'])
          .optional()
          .meta({ description: 'Answer with the refusal message (default) or with an HTTP error.' }),
        message: text('message').optional(),
        status: z
          .number()
          .int()
          .min(400)
          .max(599)
          .optional()
          .meta({ description: 'HTTP status in error mode (default 400).' }),
      })
      .optional(),
    logging: z
      .strictObject({
        content: z.enum(['full', 'redacted', 'none']).optional().meta({
          description: 'How texts are logged: in full, with personal data masked (default), or not at all.',
        }),
      })
      .optional(),
    overrides: z.record(z.string(), overrideSchema).optional(),
    principles: z.array(principleSchema).optional(),
  })
  .meta({ title: 'Tenet constitution', description: 'Principles every answer is held to.' });

export type CheckSpec = z.infer<typeof checkSchema>;
export type ExampleSpec = z.infer<typeof exampleSchema>;
export type PrincipleSpec = z.infer<typeof principleSchema>;
export type ConstitutionFile = z.infer<typeof constitutionFileSchema>;

/** A principle with every default applied: what the proxy enforces. */
export interface Principle {
  id: string;
  title: string;
  applies_to: Stage;
  /** The parts of an answer it judges (input principles: the text). */
  targets: Target[];
  severity: Severity;
  action: Action;
  critique?: string | undefined;
  revision?: string | undefined;
  check?: CheckSpec | undefined;
  examples: ExampleSpec[];
  enabled: boolean;
  /** Which constitution defined it (differs from the resolved one for inherited principles). */
  from: string;
}

/** A constitution after `extends` and defaults: the version the proxy runs. */
export interface Constitution {
  name: string;
  description: string;
  /** Content hash of everything below: the version, shown as `name@hash`. */
  hash: string;
  critic: {
    model?: string | undefined;
    max_revisions: number;
    on_error: 'fail_closed' | 'fail_open';
    on_exhausted: 'block' | 'best_round';
    /** Absent: every character is judged. */
    max_judged_chars?: number | undefined;
    on_overflow?: 'block' | 'flag' | undefined;
    min_evidence_chars: number;
  };
  stream: 'buffer' | 'audit' | 'progressive';
  /** stream: progressive: how much text one window holds before it is judged and released. */
  window: { chars: number };
  /** Whether the draft starts while the input is judged (not part of the version: it changes when, not what). */
  draft_with_input: 'auto' | 'always' | 'never';
  on_block: { mode: 'message' | 'error'; message: string; status: number };
  logging: { content: 'full' | 'redacted' | 'none' };
  /** The candidate judged in shadow on this constitution's traffic (not part of the version hash). */
  shadow?: string | undefined;
  principles: Principle[];
}

export const defaultRefusal = "Sorry, I can't help with that.";

/** The JSON Schema editors use (yaml-language-server), generated from the zod schema. */
export function constitutionJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(constitutionFileSchema, { target: 'draft-7', io: 'input' }) as Record<
    string,
    unknown
  >;
}
