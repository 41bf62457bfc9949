import type { CommandModule } from 'yargs';
import { decryptCommand } from './decrypt.js';
import { mergeDriverCommand, textconvCommand } from './drivers.js';
import { encryptCommand } from './encrypt.js';
import { cleanCommand, filterProcessCommand, smudgeCommand } from './filter.js';
import { checkCommand, initCommand, installCommand, lockCommand, unlockCommand } from './git.js';
import { keygenCommand } from './keygen.js';

// Each command module is typed by its own argument interface; yargs sees them as one list.
export const commands = [
  initCommand,
  installCommand,
  unlockCommand,
  lockCommand,
  checkCommand,
  keygenCommand,
  encryptCommand,
  decryptCommand,
  filterProcessCommand,
  cleanCommand,
  smudgeCommand,
  textconvCommand,
  mergeDriverCommand,
] as unknown as CommandModule[];
