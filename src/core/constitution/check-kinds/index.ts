// The check kinds, registered once: the schema, the loader, `tenet lint`, the JSON Schema and the judge read this list.
// Adding a kind: write its module (see kind.ts and docs/architecture.md "Add a check kind") and add it here.
import type { z } from 'zod';
import { detectKind } from './detect.ts';
import { keywordsKind } from './keywords.ts';
import { lengthsKind } from './lengths.ts';
import { patternKind } from './pattern.ts';

export const checkKinds = [patternKind, keywordsKind, detectKind, lengthsKind] as const;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void
  ? I
  : never;

/** Every kind's fields in one zod shape (the keys of `check:`), in registry order. */
export type CheckFields = UnionToIntersection<(typeof checkKinds)[number]['fields']>;

export const checkFields = Object.assign({}, ...checkKinds.map((k) => k.fields)) as CheckFields &
  z.core.$ZodLooseShape;

/** The keys that make a check do something (at least one is required). */
export const checkKeys: readonly string[] = checkKinds.flatMap((k) => k.keys);
