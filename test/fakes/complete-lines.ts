/**
 * The whole lines of a file another process appends to (JSON Lines from a preload): a line the
 * writer has not finished yet — no newline at its end — is left out until it is.
 */
import fs from 'node:fs';

export function readCompleteLines(file: string): string[] {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
}
