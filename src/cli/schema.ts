// `tenet schema`: writes the JSON Schema editors use for constitution files, generated from the zod schema.
import { writeFileSync } from 'node:fs';
import { constitutionJsonSchema } from '../core/constitution/schema.ts';

export const schemaPath = 'constitutions/constitution.schema.json';

export function constitutionSchemaText(): string {
  return `${JSON.stringify(constitutionJsonSchema(), null, 2)}\n`;
}

export function writeConstitutionSchema(out = schemaPath): number {
  writeFileSync(out, constitutionSchemaText());
  process.stdout.write(`tenet schema: wrote ${out}\n`);
  return 0;
}
