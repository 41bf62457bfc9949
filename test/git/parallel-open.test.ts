import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, git, isolatedEnv, makeKey, ROOT, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

// The worker runs the built script (dist/git/open-worker.js), so this test drives the built modules.
const dist = (m: string) => join(ROOT, 'dist', 'git', m);

describe('install opens many files on two threads', () => {
  it.skipIf(!existsSync(dist('open-worker.js')))('gives every file the plaintext (or the warning) that one thread would', async () => {
    const { SealFilter } = (await import(dist('filter.js'))) as typeof import('../../src/git/filter.js');
    const { openInParallel } = (await import(dist('parallel-open.js'))) as typeof import('../../src/git/parallel-open.js');
    const me = await makeKey();
    const other = await makeKey();
    const root = tempDir();
    git(['init', '-q'], { cwd: root, env: isolatedEnv(root) });
    writeFileSync(join(root, '.gitseal.toml'), `[recipients]\nme = "${me.recipient}"\nother = "${other.recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["me"]\n[profiles.theirs]\nfiles = ["**/.dlt/theirs.secrets.toml"]\nrecipients = ["other"]\n`);
    const sealer = new SealFilter(root, [me.file, other.file], () => {});
    const files: { path: string; content: Buffer; blob: string; plain: string }[] = [];
    for (let i = 0; i < 80; i++) {
      // Every tenth file only the second key opens: the worker (which uses the first key only) leaves it to this thread.
      const path = i % 10 === 9 ? `p${i}/.dlt/theirs.secrets.toml` : `p${i}/.dlt/secrets.toml`;
      const plain = `[db]\npassword = "parallel-${i}"\nport = ${5000 + i}\n`;
      mkdirSync(join(root, path, '..'), { recursive: true });
      files.push({ path, content: await sealer.clean(path, Buffer.from(plain)), blob: `${String(i).padStart(4, '0')}${'0'.repeat(36)}`, plain });
    }
    sealer.close();
    const damaged = files[77];
    damaged.content = Buffer.from(damaged.content.toString().replace(/ENC\[gitseal\.v1,[A-Za-z0-9+/]{4}/, 'ENC[gitseal.v1,AAAA'));

    const warnings: string[] = [];
    const filter = new SealFilter(root, [me.file, other.file], (l) => warnings.push(l));
    let adopted = 0;
    const adopt = filter.adoptOpened.bind(filter);
    filter.adoptOpened = async (list) => {
      adopted += list.length;
      return adopt(list);
    };
    const out = await openInParallel(filter, files, [me.file, other.file]);
    filter.close();
    expect(adopted).toBeGreaterThan(20); // the worker did open its half
    out.forEach((o, i) => {
      if (i === 77) expect(o.toString()).toBe(damaged.content.toString());
      else expect(o.toString(), files[i].path).toBe(files[i].plain);
    });
    expect(warnings.join('\n')).toMatch(/p77\/\.dlt\/secrets\.toml: left sealed/);
  });
});
