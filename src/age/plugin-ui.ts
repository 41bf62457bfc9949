/**
 * How age plugins talk to the user: on the terminal (/dev/tty), never on stdin or stdout, which git
 * owns while the filter runs. Messages fall back to stderr; requests and confirmations need a terminal
 * and are answered `fail` without one (the plugin then reports what it needed).
 */
import { askOnTerminal, tellUser } from './prompt.js';

/** How a plugin talks to the user. Each method throws when it cannot ask; the plugin is then told `fail`. */
export interface PluginUI {
  message(plugin: string, text: string): Promise<void>;
  confirm(plugin: string, text: string, yes: string, no: string | undefined): Promise<boolean>;
  requestValue(plugin: string, text: string, secret: boolean): Promise<string>;
}

export const terminalPluginUI: PluginUI = {
  async message(plugin, text) {
    tellUser(`age-plugin-${plugin}: ${text}`);
  },
  async confirm(plugin, text, yes, no) {
    const choices = no ? `[${yes}/${no}]` : `[${yes}]`;
    for (;;) {
      const answer = (await askOnTerminal(`age-plugin-${plugin}`, `age-plugin-${plugin}: ${text} ${choices}`, { visible: true })).trim();
      if (answer === '' || answer.toLowerCase() === yes.toLowerCase() || answer.toLowerCase() === 'y') return true;
      if (no && (answer.toLowerCase() === no.toLowerCase() || answer.toLowerCase() === 'n')) return false;
    }
  },
  async requestValue(plugin, text, secret) {
    return askOnTerminal(`age-plugin-${plugin}`, `age-plugin-${plugin}: ${text}`, { visible: !secret });
  },
};
