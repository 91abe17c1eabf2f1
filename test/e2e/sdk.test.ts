// End to end: the official SDKs (openai: chat, responses and completions; @anthropic-ai/sdk, the Vercel AI SDK) through one Tenet per runtime, unchanged but for the base URL.
import { registerAnthropicSuites } from './sdk/anthropic.ts';
import { registerChatSuites } from './sdk/chat.ts';
import { registerCompletionsSuites } from './sdk/completions.ts';
import { sdkServers } from './sdk/harness.ts';
import { registerResponsesSuites } from './sdk/responses.ts';
import { registerVercelSuites } from './sdk/vercel.ts';

// One Node and one workerd Tenet for every SDK suite (booting workerd is most of an end-to-end file's time); each
// test's scripted replies match on its own marker, so the suites never take each other's.
const servers = sdkServers();
registerChatSuites(servers);
registerResponsesSuites(servers);
registerAnthropicSuites(servers);
registerCompletionsSuites(servers);
registerVercelSuites(servers);
