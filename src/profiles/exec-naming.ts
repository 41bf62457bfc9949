/** The values of `[profiles.NAME.exec] naming`: how exec names the variables (see api/env-naming.ts). */
export type EnvNaming = 'dlt' | 'plain' | 'streamlit';
export const ENV_NAMINGS: readonly EnvNaming[] = ['dlt', 'plain', 'streamlit'];
