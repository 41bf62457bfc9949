import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS, ACCESS_PATH, cleanupTempDirs, commitAll, envMap, person, type Person, PROD, PROD_PATH, repoWith, seal, sealedClone } from '../helpers.js';

/** Alice keeps prod to herself and gives Bob the read-only access profile. */
describe('profiles: Bob can open access but not prod', () => {
  let alice: Person;
  let bob: Person;
  let bobClone: string;

  beforeAll(() => {
    alice = person('alice');
    bob = person('bob');
    const origin = repoWith(alice, { [PROD_PATH]: PROD, [ACCESS_PATH]: ACCESS });
    const out = seal(alice, ['recipients', 'add', 'bob', bob.recipient, '--profile', 'access'], origin);
    expect(out.stderr).toContain(`${ACCESS_PATH}: data key re-wrapped, values unchanged`);
    expect(out.stderr).not.toContain(PROD_PATH);
    commitAll(alice, origin, 'add bob to access');

    bobClone = sealedClone(bob, origin);
    seal(bob, ['install'], bobClone);
  });
  afterAll(cleanupTempDirs);

  it("Alice's config names Bob in access only", () => {
    const r = seal(bob, ['recipients', 'list', '--json'], bobClone);
    const listing = JSON.parse(r.stdout);
    expect(listing.recipients).toContainEqual({ name: 'bob', key: bob.recipient, profiles: ['access'] });
  });

  it("Bob's checkout has the access file in plaintext and the prod file sealed", () => {
    expect(readFileSync(join(bobClone, ACCESS_PATH), 'utf8')).toBe(ACCESS);
    const prod = readFileSync(join(bobClone, PROD_PATH), 'utf8');
    expect(prod).toContain('[gitseal]');
    expect(prod).not.toContain('sk_live_prod_51Hx');
    expect(bob.git(['status', '--porcelain'], bobClone)).toBe('');
  });

  it('exec --profile access gives Bob the access secrets', () => {
    const r = seal(bob, ['exec', '--profile', 'access', '--', 'env'], bobClone);
    const env = envMap(r.stdout);
    expect(env.DESTINATION__POSTGRES__CREDENTIALS__PASSWORD).toBe('pg-readonly-battery');
    expect(env.DESTINATION__POSTGRES__CREDENTIALS__HOST).toBe('db.prod.internal');
    expect(env.SOURCES__STRIPE__API_KEY).toBeUndefined();
  });

  it('exec --profile prod fails for Bob with one line naming the recipients, and runs nothing', () => {
    const r = bob.seal(['exec', '--profile', 'prod', '--', 'sh', '-c', 'echo RAN'], { cwd: bobClone });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^git-seal: ${PROD_PATH.replace(/\./g, '\\.')}: none of your 1 identities can open it; it is sealed to ${alice.recipient} \\(`));
    expect(r.stderr).not.toContain('sk_live_prod_51Hx');
  });

  it('rekey leaves files already sealed to their profile alone, without needing a key', () => {
    const r = seal(bob, ['rekey'], bobClone);
    expect(r.stderr).toContain('Re-keyed 0 file(s), 2 already up to date.');
    expect(bob.git(['status', '--porcelain'], bobClone)).toBe('');
  });

  it('a re-key Bob cannot do is reported per file, changes nothing there, and fails', async () => {
    const carol = person('carol');
    const before = bob.git(['ls-files', '-s', PROD_PATH], bobClone);
    const onDisk = readFileSync(join(bobClone, PROD_PATH), 'utf8');
    const r = bob.seal(['recipients', 'add', 'carol', carol.recipient, '--profile', 'prod'], { cwd: bobClone });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`git-seal: ${PROD_PATH.replace(/\./g, '\\.')}: none of your 1 identities can open it; it is sealed to ${alice.recipient}`));
    expect(r.stderr).toContain('Re-keyed 0 file(s), 1 failed.');
    expect(bob.git(['ls-files', '-s', PROD_PATH], bobClone)).toBe(before);
    expect(readFileSync(join(bobClone, PROD_PATH), 'utf8')).toBe(onDisk);
  });
});
