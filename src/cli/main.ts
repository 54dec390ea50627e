#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_URL } from './cli-context';
import { EXIT_USAGE, reportError } from './cli-errors';
import { addClassifyCommand } from './commands/classify-command';
import { addGenerateCommand } from './commands/generate-command';
import { addJobCommands } from './commands/job-commands';
import { addModelsCommand } from './commands/models-command';
import { addTransformCommand } from './commands/transform-command';

/** The version of the installed package (dist/src/cli/main.js -> package.json). */
function packageVersion(): string {
  try {
    return (
      JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
}

/**
 * `darkroom`: a client of a darkroom server's public HTTP API. Exit codes: 0 done, 1 the server or
 * a job failed (or could not be reached), 2 the command line is wrong.
 */
function buildProgram(): Command {
  const program = new Command('darkroom')
    .description('generate, transform and classify images on a darkroom server')
    .version(packageVersion())
    .addOption(new Option('--url <url>', 'server URL').env('DARKROOM_URL').default(DEFAULT_URL))
    .addOption(new Option('--api-key <key>', 'API key, sent as Authorization: Bearer').env('DARKROOM_API_KEY'))
    .option('--json', 'machine-readable output on stdout')
    .showHelpAfterError('(run darkroom --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    // Subcommands inherit this: commander throws instead of exiting, so main picks the exit code.
    .exitOverride();
  addGenerateCommand(program);
  addClassifyCommand(program);
  addTransformCommand(program);
  addModelsCommand(program);
  addJobCommands(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    // Commander already printed its message (or the help/version text it was asked for).
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    return reportError(err, (text) => process.stderr.write(text));
  }
}

/** Node's fetch holds its idle keep-alive socket for a while; exit once our output is flushed instead. */
function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

void main(process.argv).then(exitWhenFlushed);
