import { EnvSchema, ENV_DOCS } from './env.js';

/** The markdown table of every variable, in schema order. */
export function configTableMarkdown(): string {
  const rows = Object.keys(EnvSchema.shape).map((name) => {
    const d = ENV_DOCS[name as keyof typeof ENV_DOCS];
    return `| \`${name}\` | ${d.default} | ${d.meaning} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
