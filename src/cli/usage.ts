/** `--help` text, generated from the flag table so it cannot drift from what is parsed. */
import { FLAGS, type FlagSpec } from './flags';

function synopsis(f: FlagSpec): string {
  const value = f.kind === 'switch' ? '' : ` <${f.valueName ?? 'value'}>`;
  const long = `--${f.name}${value}`;
  return f.short !== undefined ? `-${f.short}${value}, ${long}` : long;
}

/** The usage text printed by `-h/--help`. */
export function usageText(): string {
  const lines = [
    'USAGE: legate [options]',
    '',
    'Legate, an Envoy-compatible data-plane proxy. It accepts Envoy\'s command line;',
    'flags marked (ignored) are validated and accepted but have no effect.',
    '',
    'Syntax: --flag value, --flag=value, -c value, -c=value; -- ends the options.',
    '',
  ];
  for (const f of FLAGS) {
    lines.push(`  ${synopsis(f)}`);
    const repeat = f.kind === 'multi' ? ' (repeatable)' : '';
    const ignored = f.ignored !== undefined ? ` (ignored: ${f.ignored})` : '';
    lines.push(`      ${f.help}${repeat}${ignored}`);
  }
  lines.push('');
  return lines.join('\n');
}
