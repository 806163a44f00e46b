/**
 * How the docs-commands e2e test reads commands out of Markdown: as bash reads the lines of a
 * ```bash block (bash(1), "COMMENTS": a word beginning with # and the rest of the line are
 * ignored; "QUOTING": a backslash-newline pair is removed, joining the lines, and # inside quotes
 * is a character).
 */
import { describe, expect, it } from 'vitest';
import { docCommands, withoutComment } from '../support/doc-commands.ts';

describe('docCommands', () => {
  it('reads every line of every bash block, without comments, continuations joined', () => {
    const md = [
      'Text with `npx coconut nothing` outside a block.',
      '```bash',
      'npx coconut status          # what runs where',
      '                            # a comment that goes on',
      'npx sst secret set A "$(openssl rand -hex 32)" \\',
      '  --stage prod',
      '```',
      '```yaml',
      'not: a command',
      '```',
      '  ```bash',
      '  echo \'#not a comment\' a#b "# nor this"   # but this',
      '  ```',
    ].join('\n');
    expect(docCommands(md, 'X.md')).toEqual([
      { file: 'X.md', line: 3, block: 0, text: 'npx coconut status' },
      { file: 'X.md', line: 5, block: 0, text: 'npx sst secret set A "$(openssl rand -hex 32)" --stage prod' },
      { file: 'X.md', line: 12, block: 1, text: `echo '#not a comment' a#b "# nor this"` },
    ]);
  });

  it('an escaped # is no comment; an unclosed block is an error naming the file', () => {
    expect(withoutComment('echo \\# x # y')).toBe('echo \\# x');
    expect(() => docCommands('```bash\nnpm start\n', 'Y.md')).toThrow('Y.md: a ```bash block is not closed');
  });
});
