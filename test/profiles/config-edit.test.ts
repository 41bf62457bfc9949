import { describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import { generateX25519Identity } from '../../src/age/index.js';
import { listRecipients, planAdd, planRemove } from '../../src/api/recipients.js';
import { parseConfig } from '../../src/profiles/config.js';
import { addProfileMember, removeProfileMember } from '../../src/profiles/config-edit.js';

const alice = generateX25519Identity().recipient;
const bob = generateX25519Identity().recipient;
const ci = generateX25519Identity().recipient;

const CONFIG = `# git-seal config: keep this comment
version = 1

[recipients]
alice = "${alice}" # the founder
ci-prod = "${ci}"

# prod credentials
[profiles.prod]
files = ["**/.dlt/prod.secrets.toml"]
recipients = [
  "alice", # admin
  "ci-prod",
]

[profiles.access]
files = ["**/.dlt/secrets.access.toml"]
recipients = ["@prod"] # everyone in prod
`;

const config = () => parseConfig(CONFIG, '/repo/.gitseal.toml');

function errorOf(fn: () => unknown): GitSealError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GitSealError);
    return err as GitSealError;
  }
  throw new Error('expected a GitSealError');
}

describe('planAdd', () => {
  it('adds the key under [recipients] and the name to each profile, keeping every comment', () => {
    const { config: next, changedProfiles } = planAdd(config(), 'bob', bob, ['prod']);
    expect(next.text).toBe(
      CONFIG.replace(`ci-prod = "${ci}"\n`, `ci-prod = "${ci}"\nbob = "${bob}"\n`).replace('  "ci-prod",\n]', '  "ci-prod",\n  "bob",\n]'),
    );
    expect(next.profiles.find((p) => p.name === 'prod')!.recipientNames).toEqual(['alice', 'ci-prod', 'bob']);
    // access includes @prod, so its key set changed too and its files need re-keying.
    expect(changedProfiles.sort()).toEqual(['access', 'prod']);
  });

  it('without a profile only adds to [recipients]; nothing needs re-keying', () => {
    const { config: next, changedProfiles } = planAdd(config(), 'bob', bob, []);
    expect(next.recipients.get('bob')).toBe(bob);
    expect(changedProfiles).toEqual([]);
  });

  it('adds a known recipient to another profile without a key', () => {
    const { config: next } = planAdd(config(), 'ci-prod', undefined, ['access']);
    expect(next.text).toContain('recipients = ["@prod", "ci-prod"] # everyone in prod');
  });

  it('refuses bad input with one-line errors naming the problem', () => {
    expect(errorOf(() => planAdd(config(), 'bob', 'age1notakey', ['prod'])).message).toMatch(/recipient 'bob': invalid age recipient/);
    expect(errorOf(() => planAdd(config(), 'bob', 'AGE-SECRET-KEY-1QQQ', ['prod'])).message).toMatch(/secret key was given/);
    expect(errorOf(() => planAdd(config(), 'bob', bob, ['nope'])).message).toMatch(/no profile named 'nope'/);
    expect(errorOf(() => planAdd(config(), 'alice', bob, [])).message).toMatch(/'alice' already has another key/);
    expect(errorOf(() => planAdd(config(), 'bobby', alice, [])).message).toMatch(/already recipient 'alice'/);
    expect(errorOf(() => planAdd(config(), 'bob', undefined, ['prod'])).hint).toMatch(/recipients add bob AGE1/);
    expect(errorOf(() => planAdd(config(), 'b o b', bob, [])).message).toMatch(/may use only letters/);
  });
});

describe('planRemove', () => {
  it('removes the name from every profile and [recipients], keeping the layout', () => {
    const { config: next, changedProfiles } = planRemove(config(), 'ci-prod', []);
    expect(next.text).toBe(CONFIG.replace(`ci-prod = "${ci}"\n`, '').replace('  "ci-prod",\n', ''));
    expect(changedProfiles.sort()).toEqual(['access', 'prod']);
  });

  it('with --profile keeps the recipient in [recipients]', () => {
    const { config: next } = planRemove(config(), 'ci-prod', ['prod']);
    expect(next.recipients.has('ci-prod')).toBe(true);
    expect(next.profiles.find((p) => p.name === 'prod')!.members).toEqual(['alice']);
  });

  it('explains removals it cannot do', () => {
    expect(errorOf(() => planRemove(config(), 'ci-prod', ['access'])).message).toMatch(/'ci-prod' is in profile 'access' only through '@prod'/);
    const lone = planRemove(config(), 'ci-prod', []).config;
    expect(errorOf(() => planRemove(lone, 'alice', [])).message).toMatch(/would leave profile 'prod' with no recipients/);
    expect(errorOf(() => planRemove(config(), 'zed', [])).message).toMatch(/no recipient named 'zed'/);
  });
});

describe('config edits', () => {
  it('appends to single-line and multi-line arrays and removes every occurrence', () => {
    const one = 'x = 1\n[profiles.a]\nrecipients = ["a"]\n';
    expect(addProfileMember(one, 'a', 'b')).toBe('x = 1\n[profiles.a]\nrecipients = ["a", "b"]\n');
    const twice = 'recipients = 0\n[profiles.a]\nrecipients = ["b", "a", "b"]\n';
    expect(removeProfileMember(twice, 'a', 'b')).toBe('recipients = 0\n[profiles.a]\nrecipients = ["a"]\n');
  });

  it('reports profiles written as inline tables as something to edit by hand', () => {
    const inline = `[recipients]\nalice = "${alice}"\n[profiles]\nprod = { files = ["x"], recipients = ["alice"] }\n`;
    const err = errorOf(() => planAdd(parseConfig(inline, '/r/.gitseal.toml'), 'bob', bob, ['prod']));
    expect(err.message).toMatch(/cannot add 'bob' to profile 'prod'/);
    expect(err.hint).toMatch(/by hand/);
  });
});

describe('listRecipients', () => {
  it('resolves includes and says where each recipient comes from', () => {
    const all = listRecipients(config());
    expect(all.recipients).toEqual([
      { name: 'alice', key: alice, profiles: ['prod', 'access'] },
      { name: 'ci-prod', key: ci, profiles: ['prod', 'access'] },
    ]);
    const access = listRecipients(config(), 'access').profiles[0];
    expect(access.recipients).toEqual([
      { name: 'alice', key: alice, via: 'prod' },
      { name: 'ci-prod', key: ci, via: 'prod' },
    ]);
  });
});
