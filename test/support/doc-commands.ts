/**
 * The shell commands a reader of the docs is told to type: every line of every ```bash block of a
 * Markdown file, with `\` continuations joined and `# comments` removed (a `#` outside quotes that
 * starts a word, as bash reads it). Lines left empty (a comment that goes on from the line above)
 * are not commands.
 */

export interface DocCommand {
  /** The file, relative to the repository root. */
  file: string;
  /** 1-based line of the command's first line in the file. */
  line: number;
  /** Which ```bash block of the file (0-based): the lines of one block run in one terminal. */
  block: number;
  /** The command as bash reads it: continuations joined, the comment removed. */
  text: string;
}

/** The line without its comment; `#` inside quotes or inside a word (`a#b`) is not a comment. */
export function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

export function docCommands(markdown: string, file: string): DocCommand[] {
  const lines = markdown.split('\n');
  const commands: DocCommand[] = [];
  let block = -1;
  let inBash = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (!inBash) {
      if (/^\s*```bash\s*$/.test(raw)) {
        inBash = true;
        block++;
      }
      continue;
    }
    if (/^\s*```\s*$/.test(raw)) {
      inBash = false;
      continue;
    }
    const start = i;
    let joined = raw;
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      i++;
      joined = `${joined.slice(0, -1)} ${(lines[i] ?? '').trim()}`;
    }
    const text = withoutComment(joined).trim().replace(/\s+/g, ' ');
    if (text !== '') commands.push({ file, line: start + 1, block, text });
  }
  if (inBash) throw new Error(`${file}: a \`\`\`bash block is not closed`);
  return commands;
}
