/** What `config` shows instead of a secret. */
export const MASK = '********';

/** Keys whose values are secrets wherever they stand. */
const SECRET_KEY = /secret|password|passphrase/i;

/** Tables whose every value is a secret (`Authorization = "Bearer …"` in a webhook's headers). */
const SECRET_TABLE = /^headers$/i;

/** The password of a URL's user information, `scheme://user:password@host` (the last `@` before the path ends it, as URL parsers read it). */
const URL_PASSWORD = /([a-z][a-z\d+.-]*:\/\/[^\s/?#@:]*):[^\s/?#]*@/gi;

/** A string with the password of every URL in it masked; the user name stays. */
export function maskUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, `$1:${MASK}@`);
}

/** Settings as `config` shows them: secret keys, every header value and every URL password masked. */
export function maskSecrets(value: unknown, key = '', inSecretTable = false): unknown {
  if (Array.isArray(value)) return value.map((inner) => maskSecrets(inner, key, inSecretTable));
  if (typeof value === 'object' && value !== null) {
    const secretTable = SECRET_TABLE.test(key);
    return Object.fromEntries(Object.entries(value).map(([innerKey, inner]) => [innerKey, maskSecrets(inner, innerKey, secretTable)]));
  }
  if (inSecretTable || SECRET_KEY.test(key)) return MASK;
  return typeof value === 'string' ? maskUrlPasswords(value) : value;
}
