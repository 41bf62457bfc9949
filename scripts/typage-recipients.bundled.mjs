// The CLI bundle's src/age/typage-recipients.ts (see scripts/bundle.mjs): age-encryption's recipients
// module, bundled (its path is resolved past the package's "exports" map) and initialised on first use.
export async function importRecipientsModule() {
  return import('age-encryption/dist/recipients.js');
}
