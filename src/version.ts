import { readFileSync } from 'node:fs';

/** This package's version: package.json is one level above dist/cli.js and two above dist/bundle/cli.cjs. */
export function packageVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8'));
      if (pkg.name === 'git-seal') return pkg.version as string;
    } catch {
      /* try the next level */
    }
  }
  return 'unknown';
}
