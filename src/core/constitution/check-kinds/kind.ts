// What a check kind is: one self-describing module (fields, compile, load rules, lint rules, docs line).
// The constitution schema, the loader, `tenet lint` and the JSON Schema are derived from the registry (index.ts).
import type { z } from 'zod';

export interface CheckHit {
  /** The text that fired the check, verbatim from the judged text (for a length, a description). */
  evidence: string;
  /** Why it fired, in words for a reviewer. */
  reason: string;
}

/** One kind's judge: `text` is capped at `maxCheckedChars`, `whole` is all of it. */
export type KindJudge = (text: string, whole: string) => CheckHit | null;

/** A problem at a path inside the check (e.g. `['pattern']`), reported at its file:line:col. */
export interface KindProblem {
  path: PropertyKey[];
  message: string;
}

type Raw = Record<string, unknown>;

export interface CheckKind<Fields extends z.core.$ZodLooseShape = z.core.$ZodLooseShape> {
  /** The name the docs use, e.g. `pattern`, `lengths`. */
  name: string;
  /** Its keys in `check:`, with their zod types and `.meta({ description })` (the editor's hints). */
  fields: Fields;
  /** The keys that make up the kind (a check needs at least one key of one kind); the rest are options. */
  keys: readonly (keyof Fields & string)[];
  /** One line for the docs: what the kind does. */
  docs: string;
  /** Whether it also judges tool calls (`name: …` / `arguments: …`), or only an answer's text. */
  toolCalls: boolean;
  /** Its judge for a check, or undefined when the check does not use the kind. Throws on an invalid spec. */
  compile(check: z.infer<z.ZodObject<Fields>>): KindJudge | undefined;
  /** Schema errors zod cannot express (run when the fields have the right types). */
  refine?(check: z.infer<z.ZodObject<Fields>>): KindProblem[];
  /** Load errors on the raw document, reported together with schema errors (tolerate any shape). */
  problems?(check: Raw): KindProblem[];
  /** Warnings for likely mistakes in a valid check (`tenet lint`). */
  lint?(check: z.infer<z.ZodObject<Fields>>): KindProblem[];
}

/** Declares a kind with its field types kept (so `CheckSpec` stays precise). */
export const defineCheckKind = <Fields extends z.core.$ZodLooseShape>(kind: CheckKind<Fields>) => kind;
