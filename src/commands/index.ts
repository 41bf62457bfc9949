import type { CommandModule } from 'yargs';
import { decryptCommand } from './decrypt.js';
import { demoCommand } from './demo.js';
import { mergeDriverCommand } from './merge-driver.js';
import { textconvCommand } from './textconv.js';
import { encryptCommand } from './encrypt.js';
import { cleanCommand } from './clean.js';
import { filterProcessCommand } from './filter-process.js';
import { smudgeCommand } from './smudge.js';
import { initCommand } from './init.js';
import { installCommand, unlockCommand } from './install.js';
import { lockCommand } from './lock.js';
import { checkCommand } from './check.js';
import { keygenCommand } from './keygen.js';
import { execCommand } from './exec.js';
import { recipientsCommand } from './recipients.js';
import { rekeyCommand } from './rekey.js';
import { doctorCommand } from './doctor.js';
import { editCommand } from './edit.js';
import { logCommand } from './log.js';
import { getCommand } from './get.js';
import { setCommand } from './set.js';
import { rmCommand } from './rm.js';
import { lsCommand } from './ls.js';

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
  getCommand,
  setCommand,
  rmCommand,
  lsCommand,
  editCommand,
  logCommand,
  doctorCommand,
  recipientsCommand,
  rekeyCommand,
  execCommand,
  demoCommand,
  filterProcessCommand,
  cleanCommand,
  smudgeCommand,
  textconvCommand,
  mergeDriverCommand,
] as unknown as CommandModule[];
