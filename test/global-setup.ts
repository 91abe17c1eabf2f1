// Once per test project (Node side): bundles the constitutions for the Worker and the CLI for the tests' spawns,
// starts the scripted upstream.
import type { TestProject } from 'vitest/node';
import { bundleConstitutions } from '../src/cli/bundle.ts';
import { buildCliBundle } from './cli-bundle.ts';
import { startUpstream } from './upstream/server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    upstreamUrl: string;
  }
}

export default async function setup(project: TestProject) {
  if ((await bundleConstitutions()) !== 0) throw new Error('the shipped constitutions do not bundle');
  await buildCliBundle();
  const upstream = await startUpstream();
  project.provide('upstreamUrl', upstream.url);
  return () => upstream.close();
}
