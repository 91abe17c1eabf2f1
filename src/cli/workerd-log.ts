// wrangler dev's output, made readable: workerd's internal-error dumps (a C++ message and a stack of addresses) are folded into the line that names their reference.

/**
 * workerd prints a failed outgoing fetch (DNS lookup failed, connection refused …) as an `e = kj/…` line and a
 * `stack:` line of addresses, and the Worker only sees `internal error; reference = <id>`. The dump is kept back,
 * and its message is added to the lines that mention its id (Tenet's own error line), so one failure reads as one
 * line.
 */
const dumpHead = /\be = kj\/\S+: failed: (.+?)\.?;(?: params\.host = ([^;]+);)?/;
const dumpStack = /^\s*stack: .*wdErrId = (\w+)/;
const reference = /reference = (\w+)/;
const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

export interface WorkerdLogFilter {
  /** Takes a chunk of output; complete lines go on to `write`, rewritten or held back. */
  push(chunk: string): void;
  /** Writes what is left (a last line without a newline). */
  end(): void;
}

/** `summaries` (error id → what failed) can be shared by the filters of stdout and stderr. */
export function createWorkerdLogFilter(
  write: (text: string) => void,
  summaries = new Map<string, string>(),
): WorkerdLogFilter {
  let pending: string | undefined;
  let rest = '';
  let skipBlank = false;

  const line = (text: string) => {
    const plain = text.replace(ansi, '');
    const head = dumpHead.exec(plain);
    if (head) {
      pending = head[2] ? `${head[1]}: ${head[2].trim()}` : head[1];
      return;
    }
    const stack = dumpStack.exec(plain);
    if (stack && pending !== undefined) {
      if (stack[1]) summaries.set(stack[1], pending);
      pending = undefined;
      skipBlank = true;
      return;
    }
    // wrangler follows each error block with blank lines: a folded dump leaves none behind.
    if (skipBlank && plain.trim() === '') return;
    skipBlank = false;
    const id = reference.exec(plain)?.[1];
    const summary = id ? summaries.get(id) : undefined;
    write(`${summary ? text.replace(`reference = ${id}`, `reference = ${id} (${summary})`) : text}\n`);
  };

  return {
    push(chunk) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) line(l);
    },
    end() {
      if (rest) write(rest);
      rest = '';
    },
  };
}
