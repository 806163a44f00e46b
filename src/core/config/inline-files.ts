/**
 * coconut.yaml as the deployed functions get it. On AWS each Lambda is bundled with coconut.yaml
 * alone (infra/functions.ts copyFiles), so a file it names by a relative path — verify.cosign.key
 * (cosign.pub) or verify.cosign.trustedRoot (trusted_root.json) — would not be there when the
 * function loads the config. Here those paths are replaced by the files' contents, in the text of
 * the file (comments and layout kept), so the key and root travel inline.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { loadConfigWithPositions } from './load.ts';
import { PEM_PUBLIC_KEY, TRUSTED_ROOT_JSON } from './schema.ts';

export interface InlinedConfig {
  /** The YAML text with every named file written inline. */
  text: string;
  /** The config paths that were files, e.g. services[0].verify.cosign.key. */
  inlined: string[];
}

export async function inlineReferencedFiles(file: string): Promise<InlinedConfig> {
  // Loading validates the file and reads every named file (with clear errors when one is missing).
  const { config } = await loadConfigWithPositions(file);
  const original = parseDocument(await readFile(file, 'utf8'));
  const inlined: string[] = [];
  for (const [i, service] of config.services.entries()) {
    const cosign = service.verify?.cosign;
    if (!cosign) continue;
    const at = ['services', i, 'verify', 'cosign'];
    const written = (field: string) => original.getIn([...at, field]);
    if (typeof cosign.key === 'string') {
      const was = written('key');
      if (typeof was === 'string' && !PEM_PUBLIC_KEY.test(was)) {
        original.setIn([...at, 'key'], cosign.key);
        inlined.push(`services[${i}].verify.cosign.key`);
      }
    } else if ('trustedRoot' in cosign && cosign.trustedRoot !== undefined) {
      const was = written('trustedRoot');
      if (typeof was === 'string' && !TRUSTED_ROOT_JSON.test(was)) {
        original.setIn([...at, 'trustedRoot'], cosign.trustedRoot);
        inlined.push(`services[${i}].verify.cosign.trustedRoot`);
      }
    }
  }
  return { text: original.toString(), inlined };
}
