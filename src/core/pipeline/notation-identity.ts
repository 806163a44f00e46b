/**
 * Trusted identities as a Notation trust policy writes them (notaryproject/specifications
 * specs/trust-store-trust-policy.md "Trusted Identities Constraints"). Apart from the verifier so
 * that the config schema can check them without loading the envelope libraries.
 */

/** An X.509 distinguished name: attribute type -> values. */
export type Rdn = Map<string, string[]>;

/**
 * `x509.subject: C=US, ST=WA, O=wabbit-networks.io` -> its RDNs. trust-store-trust-policy.md
 * "Trusted Identities Constraints": comma-separated RDNs, C, ST and O required, `\,` `\;` `\\`
 * and an escaped leading/trailing space are the escapes.
 */
export function parseTrustedIdentity(identity: string): { rdn: Rdn } | { error: string } {
  const m = /^\s*x509\.subject\s*:(.*)$/s.exec(identity);
  if (!m) {
    return {
      error: `trusted identity "${identity}" is not "x509.subject: C=..., ST=..., O=..." (or "*" alone, any certificate of the trusted roots)`,
    };
  }
  const rdn: Rdn = new Map();
  for (const part of splitUnescaped(m[1] ?? '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { error: `trusted identity "${identity}": "${part.trim()}" is not TYPE=value` };
    const type = part.slice(0, eq).trim().toUpperCase();
    const value = unescapeValue(part.slice(eq + 1));
    if (rdn.has(type)) return { error: `trusted identity "${identity}" names ${type} twice` };
    rdn.set(type, [value]);
  }
  const missing = ['C', 'ST', 'O'].filter((t) => !rdn.has(t));
  if (missing.length > 0) {
    return {
      error: `trusted identity "${identity}" lacks ${missing.join(', ')}: the Notary Project requires at least C, ST and O`,
    };
  }
  return { rdn };
}

function splitUnescaped(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length) {
      current += c + (text[i + 1] as string);
      i++;
    } else if (c === ',') {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts.filter((p) => p.trim() !== '');
}

function unescapeValue(raw: string): string {
  // Unescaped outer spaces are separators' padding; an escaped space (`\ `) is kept.
  const trimmed = raw.replace(/^\s+/, '').replace(/(?<!\\)\s+$/, '');
  return trimmed.replace(/\\(.)/g, '$1');
}
