// The constitutions folder's watcher: an edited constitution is reloaded; other files in the folder are not read.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchConstitutions } from '../../src/adapters/constitution-files.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createRedactor } from '../../src/core/redact.ts';

const constitution = (critique: string) => `name: watched
principles:
  - id: polite
    severity: minor
    action: flag
    critique: ${critique}
`;

const lines: string[] = [];
const logger = createLogger(createRedactor([]), { sink: (_level, line) => lines.push(line) });
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  lines.length = 0;
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

describe('watchConstitutions', () => {
  it('reloads an edited constitution, and leaves other files of the folder alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenet-watch-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'watched.yaml'), constitution('Is the answer rude?'));
    const watched = await watchConstitutions(dir, logger);
    try {
      const first = watched.get('watched');
      expect(first).toBeDefined();
      // A log database kept in the same folder: written again and again, never a reason to reload.
      for (let i = 0; i < 5; i++) writeFileSync(join(dir, 'tenet.db-wal'), `page ${i}`);
      await settle();
      expect(watched.get('watched')).toBe(first);

      writeFileSync(join(dir, 'watched.yaml'), constitution('Is the answer impolite?'));
      await settle();
      const second = watched.get('watched');
      expect(second).not.toBe(first);
      expect(second?.hash).not.toBe(first?.hash);
      expect(lines.some((l) => l.includes('constitution reloaded'))).toBe(true);
    } finally {
      watched.close();
    }
  });
});
