// The store suite on the Workers backend: D1 inside workerd, migrated like `npm start` does.
import { env } from 'cloudflare:test';
import { createD1Store } from '../../src/adapters/d1-store.ts';
import { storeSuite } from '../store-suite.ts';

storeSuite('D1', async () => createD1Store((env as unknown as { DB: D1Database }).DB));
