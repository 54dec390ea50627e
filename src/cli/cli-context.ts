import type { Command } from 'commander';
import { createApiClient, type ApiClient } from './api-client';
import { parseServerUrl } from './cli-arguments';

export const DEFAULT_URL = 'http://localhost:3000';

/** Options every command accepts (declared on the program, usable before or after the command). */
export interface GlobalOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
}

/** What a command needs: the client, the output mode and somewhere to print. */
export interface CliContext {
  client: ApiClient;
  json: boolean;
  print(text: string): void;
  printJson(value: unknown): void;
}

export function contextOf(command: Command): CliContext {
  // An empty DARKROOM_URL or DARKROOM_API_KEY counts as unset.
  const options = command.optsWithGlobals<GlobalOptions>();
  return {
    client: createApiClient({ url: parseServerUrl(options.url || DEFAULT_URL), apiKey: options.apiKey || undefined }),
    json: options.json === true,
    print: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    printJson: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}
