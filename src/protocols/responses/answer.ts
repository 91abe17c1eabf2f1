// The Responses API answer: reading the judged parts of a `response`, and putting revisions and refusals back.

import { TenetError } from '../../core/errors.ts';
import {
  type Draft,
  type FinalChoice,
  type ToolCallPart,
  type Usage,
  zeroUsage,
} from '../../core/exchange/conversation.ts';
import type { ParsedRequest } from '../../core/exchange/protocol.ts';
import type { ResponsesRequest } from './request.ts';
import {
  functionCallItem,
  isObject,
  type Json,
  messageItem,
  type OutputItem,
  outputTextPart,
  type ResponseObject,
  responseSchema,
  tenetId,
} from './shape.ts';

/** Reads a JSON answer; throws `upstream_invalid_response` when it is not a `response` object. */
export function readResponse(text: string): ResponseObject {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const result = responseSchema.safeParse(json);
  if (result.success) return result.data;
  throw new TenetError(
    'upstream_invalid_response',
    'The upstream model sent an answer that is not a Responses API response object.',
  );
}

/** The text parts of `output`, joined the way the SDKs' `output_text` joins them (no separator). */
function outputText(output: readonly OutputItem[]): string | null {
  let text: string | null = null;
  for (const item of output) {
    const message = messageItem.safeParse(item);
    if (!message.success) continue;
    for (const part of message.data.content) {
      const p = outputTextPart.safeParse(part);
      if (p.success) text = (text ?? '') + p.data.text;
    }
  }
  return text;
}

function toolCallsOf(output: readonly OutputItem[]): ToolCallPart[] {
  const calls: ToolCallPart[] = [];
  for (const item of output) {
    const call = functionCallItem.safeParse(item);
    if (call.success)
      calls.push({ id: call.data.call_id, name: call.data.name, arguments: call.data.arguments });
  }
  return calls;
}

/** The answer's one choice as the exchange judges it: message text, function calls, and why it stopped. */
export function draftOfResponse(answer: ResponseObject): Draft {
  const toolCalls = toolCallsOf(answer.output);
  let finishReason: string | null = answer.status ?? null;
  if (answer.status === 'incomplete') finishReason = answer.incomplete_details?.reason ?? 'incomplete';
  else if (toolCalls.length > 0) finishReason = 'tool_calls';
  else if (answer.status === 'completed') finishReason = 'stop';
  const usage = answer.usage
    ? {
        prompt_tokens: answer.usage.input_tokens,
        completion_tokens: answer.usage.output_tokens,
        total_tokens: answer.usage.total_tokens,
      }
    : null;
  return { choices: [{ index: 0, text: outputText(answer.output), toolCalls, finishReason }], usage };
}

/** An assistant message item Tenet wrote (a revision where the draft had no text, a refusal). */
function tenetMessage(content: Json[]): OutputItem {
  return { id: tenetId('msg'), type: 'message', status: 'completed', role: 'assistant', content };
}

/** The output with every output_text part replaced by one `text`, in the place of the first. */
function reviseOutput(output: readonly OutputItem[], text: string): OutputItem[] {
  let placed = false;
  const out: OutputItem[] = [];
  for (const item of output) {
    const message = messageItem.safeParse(item);
    if (!message.success) {
      out.push(item);
      continue;
    }
    const content: Json[] = [];
    let removed = false;
    for (const part of message.data.content) {
      if (!outputTextPart.safeParse(part).success) content.push(part);
      else if (placed) removed = true;
      else {
        placed = true;
        // Annotations and logprobs point into the draft's text: they no longer hold for the revision.
        content.push({ ...part, text, annotations: [], ...('logprobs' in part ? { logprobs: [] } : {}) });
      }
    }
    if (removed && content.length === 0) continue;
    out.push({ ...item, content });
  }
  if (placed) return out;
  const message = tenetMessage([{ type: 'output_text', text, annotations: [], logprobs: [] }]);
  const firstCall = out.findIndex((item) => item.type === 'function_call');
  out.splice(firstCall === -1 ? out.length : firstCall, 0, message);
  return out;
}

function refusalItem(message: string): OutputItem {
  return tenetMessage([{ type: 'refusal', refusal: message }]);
}

/** Tokens in the Responses API's shape (its details zero: Tenet's own answers cache and reason nothing). */
export function responseUsage(usage: Usage): NonNullable<ResponseObject['usage']> {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.total_tokens,
  };
}

function withUsage(answer: ResponseObject, usage: Usage): ResponseObject {
  if (!answer.usage || usage.total_tokens <= 0) return answer;
  return {
    ...answer,
    usage: {
      ...answer.usage,
      input_tokens: answer.usage.input_tokens + usage.prompt_tokens,
      output_tokens: answer.usage.output_tokens + usage.completion_tokens,
      total_tokens: answer.usage.total_tokens + usage.total_tokens,
    },
  };
}

/** The answer with its choice revised or refused (never mutating `answer`), plus the revision's tokens. */
export function applyFinalToResponse(
  answer: ResponseObject,
  finals: readonly FinalChoice[],
  revisionUsage: Usage,
): ResponseObject {
  const final = finals.find((f) => f.index === 0);
  let out = answer;
  if (final?.kind === 'revised') {
    const calls = final.toolCalls;
    // Re-made tool calls replace the draft's function_call items (after the message, as the API orders them).
    const kept = calls ? answer.output.filter((item) => item.type !== 'function_call') : answer.output;
    const text = calls && final.text === '' ? undefined : final.text;
    const output = [
      ...(text === undefined
        ? kept.filter((item) => !messageItem.safeParse(item).success)
        : reviseOutput(kept, text)),
      ...(calls ?? []).map(
        (t): OutputItem => ({
          id: tenetId('fc'),
          type: 'function_call',
          status: 'completed',
          call_id: t.id,
          name: t.name,
          arguments: t.arguments,
        }),
      ),
    ];
    const settled =
      answer.status === 'completed' || answer.status === 'incomplete' || answer.status === 'failed';
    out = { ...answer, output, ...(settled ? {} : { status: 'completed' }) };
    if (typeof answer['output_text'] === 'string') out['output_text'] = outputText(output) ?? '';
  } else if (final?.kind === 'refused') {
    // The Responses API has no content_filter status: a refusal is a completed answer whose message refuses.
    out = {
      ...answer,
      status: 'completed',
      incomplete_details: null,
      error: null,
      output: [refusalItem(final.message)],
    };
    if ('output_text' in answer) out['output_text'] = '';
  }
  return withUsage(out, revisionUsage);
}

/** Function tools as the API echoes them in a response (`strict`, `parameters` and `description` always present). */
function echoedTools(tools: ResponsesRequest['tools']): Json[] {
  return (tools ?? []).map((tool) =>
    tool.type === 'function' ? { description: null, parameters: null, strict: true, ...tool } : tool,
  );
}

/** A whole completed `response` that refuses, for a request refused before any model was asked. */
export function refusalResponse(request: ParsedRequest<ResponsesRequest>, message: string): ResponseObject {
  const body = request.body;
  const now = Math.floor(Date.now() / 1000);
  return {
    id: tenetId('resp'),
    object: 'response',
    created_at: now,
    completed_at: now,
    status: 'completed',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: request.model,
    output: [refusalItem(message)],
    parallel_tool_calls: isBoolean(body['parallel_tool_calls']) ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: isBoolean(body['store']) ?? true,
    temperature: body.temperature ?? 1,
    text: isObject(body['text']) ? body['text'] : { format: { type: 'text' } },
    tool_choice: body['tool_choice'] ?? 'auto',
    tools: echoedTools(body.tools),
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: responseUsage(zeroUsage()),
    metadata: isObject(body['metadata']) ? body['metadata'] : {},
  };
}

const isBoolean = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
