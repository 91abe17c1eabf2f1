// Starts the scripted upstream once per test project (Node side) and hands its URL to the tests.
import type { TestProject } from 'vitest/node';
import { startUpstream } from './upstream/server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    upstreamUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const upstream = await startUpstream();
  project.provide('upstreamUrl', upstream.url);
  return () => upstream.close();
}
