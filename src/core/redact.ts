// Scrubs secrets from any text before it leaves Tenet: log lines, error messages, upstream error bodies.

/** Key-like strings that must never be shown even when they are not ours (e.g. an upstream echoing a key). */
const keyLike = /\b(?:sk|pk|rk)-[A-Za-z0-9_*-]{8,}|\bBearer\s+[A-Za-z0-9._~+/=*-]{8,}/g;

export type Redactor = (text: string) => string;

/** Builds a function that replaces every known secret and every key-like string with a marker. */
export function createRedactor(secrets: readonly string[]): Redactor {
  const known = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of known) {
      if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    }
    // Each of keyLike's alternatives holds one of these: most texts hold neither, and skip the expression.
    return out.includes('k-') || out.includes('Bearer') ? out.replace(keyLike, '[redacted]') : out;
  };
}
