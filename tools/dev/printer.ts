/**
 * `make dev`'s log printer, a process of its own. It reads `<label>| <line>` lines on stdin (the
 * dev process labels each service's output with its name) and prints them: pino JSON prettified
 * by pino-pretty, anything else as it is. Prettifying, and waiting for a slow terminal, happen
 * here, never in the process that reads the services' pipes.
 */
import { createInterface } from 'node:readline';
import { prettyFactory } from 'pino-pretty';

const pretty = prettyFactory({ colorize: Boolean(process.stdout.isTTY), ignore: 'pid,hostname,service,spanId', singleLine: true });

// Ctrl-C reaches every process of the terminal: this one ends when the dev process closes its
// input, once the last lines (the services stopping) are printed.
process.on('SIGINT', () => {});

// process.stdout is synchronous on a terminal, a file or a pipe: a slow reader holds up this
// process only, while the dev process keeps its own backlog (and drops lines past a limit).
createInterface({ input: process.stdin }).on('line', (line) => {
  const cut = line.indexOf('| ') + 2;
  if (cut < 2 || !line.startsWith('{', cut)) {
    process.stdout.write(`${line}\n`);
    return;
  }
  // An error's stack spans several lines: each carries the label.
  const label = line.slice(0, cut);
  process.stdout.write(`${label}${pretty(line.slice(cut)).trimEnd().replaceAll('\n', `\n${label}`)}\n`);
});
