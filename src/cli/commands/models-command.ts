import { Command, Option } from 'commander';
import { loadConfig } from '../../config';
import { removeInstalledModel, listInstalledModels } from '../../models/installed-models';
import { pullModel } from '../../models/model-pull';
import { GRAPH_KINDS } from '../../models/pulled-manifest';
import { contextOf } from '../cli-context';
import { createPullProgress, formatBytes } from '../pull-progress-bar';
import { formatTable } from '../text-table';

async function listServerModels(_options: unknown, command: Command): Promise<void> {
  const ctx = contextOf(command);
  const models = await ctx.client.listModels();
  if (ctx.json) return ctx.printJson({ models });
  ctx.print(
    formatTable(
      ['NAME', 'KIND', 'DEFAULT FOR', 'DEMO', 'DESCRIPTION'],
      models.map((m) => [
        m.name,
        m.kind,
        Array.isArray(m.default_for) && m.default_for.length ? m.default_for.join(', ') : '-',
        m.demo === true ? 'demo' : '-',
        m.description ?? '',
      ]),
    ),
  );
}

interface PullFlags {
  revision: string;
  subfolder?: string;
  name?: string;
  file?: string;
  kind?: (typeof GRAPH_KINDS)[number];
  force?: boolean;
}

async function pullFromHub(repo: string, flags: PullFlags, command: Command): Promise<void> {
  const ctx = contextOf(command);
  const { models } = loadConfig();
  const progress = createPullProgress();
  try {
    const pulled = await pullModel({
      repo,
      ...flags,
      modelsDir: models.dir,
      hub: { endpoint: models.hfEndpoint, token: models.hfToken },
      onProgress: progress.onProgress,
    });
    progress.stop();
    if (ctx.json)
      return ctx.printJson({ name: pulled.name, kind: pulled.manifest.kind, dir: pulled.dir, source: pulled.source });
    ctx.print(
      `installed ${pulled.name} (${pulled.manifest.kind}) in ${pulled.dir}; servers whose MODELS_PATH includes ${models.dir} load it when they start`,
    );
  } finally {
    progress.stop();
  }
}

function listInstalled(_options: unknown, command: Command): void {
  const ctx = contextOf(command);
  const installed = listInstalledModels(loadConfig().models.dir);
  if (ctx.json) return ctx.printJson({ models: installed });
  ctx.print(
    formatTable(
      ['NAME', 'KIND', 'SIZE', 'SOURCE'],
      installed.map((m) => [m.name, m.kind, formatBytes(m.bytes), m.source ?? '-']),
    ),
  );
}

function removeInstalled(name: string, _options: unknown, command: Command): void {
  const ctx = contextOf(command);
  const dir = removeInstalledModel(loadConfig().models.dir, name);
  if (ctx.json) return ctx.printJson({ removed: name, dir });
  ctx.print(`removed ${name} (${dir})`);
}

/**
 * `darkroom models`: what the server can run. `models pull|list|remove` act on this machine's
 * MODELS_DIR instead (no server needed): the server and workers load it through MODELS_PATH.
 */
export function addModelsCommand(program: Command): void {
  const models = program
    .command('models')
    .description('list the models the server has loaded; pull, list and remove models in MODELS_DIR')
    .action(listServerModels);
  models
    .command('server')
    .description('list the models the server has loaded (same as `darkroom models`)')
    .action(listServerModels);

  models
    .command('pull')
    .description('download a model from the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN) into MODELS_DIR')
    .argument('<repo>', 'repository id, owner/name')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--subfolder <path>', 'folder of the repository that holds the model')
    .option('--name <name>', "the model's name in darkroom (default: the repository's name)")
    .option('--file <graph>', 'the .onnx graph to take when the folder holds several')
    .addOption(
      new Option('--kind <kind>', 'what the graph is, when its inputs and outputs do not tell').choices(GRAPH_KINDS),
    )
    .option('--force', 'replace an installed model of the same name')
    .action(pullFromHub);

  models.command('list').description('list the models in MODELS_DIR').action(listInstalled);

  models
    .command('remove')
    .description('delete a model from MODELS_DIR')
    .argument('<name>', "the model's name")
    .action(removeInstalled);
}
