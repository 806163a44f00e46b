/**
 * Logs for people at a terminal: one readable line per entry on stderr, and every entry as a
 * JSON line in <dataDir>/logs/coconut.jsonl for tools. Level from COCONUT_LOG_LEVEL.
 */
import path from 'node:path';
import { styleText } from 'node:util';
import type { Log } from '../core/ports.ts';
import { appendPrivateFile, privateDir } from './private-files.ts';

const LEVELS = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, SILENT: 100 } as const;
type Level = keyof typeof LEVELS;

export function consoleLog(dataDir: string | undefined, level = (process.env.COCONUT_LOG_LEVEL ?? 'INFO').toUpperCase()): Log {
  const min = LEVELS[(level in LEVELS ? level : 'INFO') as Level];
  const file = dataDir ? path.join(dataDir, 'logs', 'coconut.jsonl') : undefined;
  if (file) privateDir(path.dirname(file));
  const write = (lvl: Exclude<Level, 'SILENT'>, message: string, extra?: Record<string, unknown>) => {
    const at = new Date();
    if (file) appendPrivateFile(file, `${JSON.stringify({ level: lvl, timestamp: at.toISOString(), message, ...extra })}\n`);
    if (LEVELS[lvl] < min) return;
    const time = at.toISOString().slice(11, 23);
    const tag =
      lvl === 'ERROR'
        ? styleText('red', 'ERROR')
        : lvl === 'WARN'
          ? styleText('yellow', 'WARN ')
          : lvl === 'DEBUG'
            ? styleText('gray', 'DEBUG')
            : 'INFO ';
    process.stderr.write(`${styleText('gray', time)} ${tag} ${message}\n`);
  };
  return {
    debug: (m, e) => write('DEBUG', m, e),
    info: (m, e) => write('INFO', m, e),
    warn: (m, e) => write('WARN', m, e),
    error: (m, e) => write('ERROR', m, e),
  };
}
