// The configured secrets no byte sent to a client may carry, worked out once per configuration.
import { type Config, secretsOf } from '../core/config.ts';
import { scrubbable } from '../core/secret-scrub.ts';

const secretsByConfig = new WeakMap<Config, string[]>();

export function answerSecrets(config: Config): string[] {
  let secrets = secretsByConfig.get(config);
  if (!secrets) {
    secrets = scrubbable(secretsOf(config));
    secretsByConfig.set(config, secrets);
  }
  return secrets;
}
