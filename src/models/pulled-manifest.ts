import { PullError } from './hub-file-selection';
import type { ModelManifest } from './model-manifest';
import type { GraphSignature, TensorSignature } from './onnx-graph-io';

/** Kinds `models pull` can write a manifest for from a single graph (`--kind`). */
export const GRAPH_KINDS = ['classifier', 'image_to_image'] as const;
export type GraphKind = (typeof GRAPH_KINDS)[number];

/** The Hub's preprocessor_config.json (transformers image processors); every field optional. */
export interface PreprocessorConfig {
  do_resize?: boolean;
  size?: number | { shortest_edge?: number; height?: number; width?: number };
  do_center_crop?: boolean;
  crop_size?: number | { height?: number; width?: number };
  /** PIL filter number: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic. */
  resample?: number;
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_mean?: number[];
  image_std?: number[];
}

/** The parts of the Hub's config.json a classifier needs. */
export interface HubModelConfig {
  id2label?: Record<string, string>;
  problem_type?: string;
}

export interface GraphManifestInput {
  name: string;
  description: string;
  graphFile: string;
  signature: GraphSignature;
  kind?: GraphKind;
  preprocessor?: PreprocessorConfig;
  config?: HubModelConfig;
  /** A labels file in the model folder (`lines` or `synset`), when config.json has no id2label. */
  labelsFile?: { file: string; format: 'lines' | 'synset' };
}

const dims = (t: TensorSignature) => t.shape;
/** Channel count and layout of a 4-D image tensor, if it is one. */
function imageLayout(
  t: TensorSignature,
): { layout: 'NCHW' | 'NHWC'; channels: number; height?: number; width?: number } | undefined {
  const s = dims(t);
  if (s.length !== 4) return undefined;
  const num = (v: number | string) => (typeof v === 'number' ? v : undefined);
  if (s[1] === 3 || s[1] === 1) return { layout: 'NCHW', channels: s[1], height: num(s[2]), width: num(s[3]) };
  if (s[3] === 3 || s[3] === 1) return { layout: 'NHWC', channels: s[3], height: num(s[1]), width: num(s[2]) };
  return undefined;
}

/** Number of classes of a [N, C] or [N, C, 1, 1] output, or undefined if it is not one. */
function classCount(t: TensorSignature): number | string | undefined {
  const s = dims(t);
  if (s.length === 2) return s[1];
  if (s.length === 4 && s[2] === 1 && s[3] === 1) return s[1];
  return undefined;
}

/** The kind a graph's inputs and outputs show: one image in, scores or an image out. */
export function detectGraphKind(sig: GraphSignature): GraphKind | undefined {
  if (sig.inputs.length !== 1 || sig.outputs.length !== 1 || !imageLayout(sig.inputs[0])) return undefined;
  if (classCount(sig.outputs[0]) !== undefined) return 'classifier';
  if (imageLayout(sig.outputs[0])?.channels === imageLayout(sig.inputs[0])?.channels) return 'image_to_image';
  return undefined;
}

const describe = (ts: TensorSignature[]) => ts.map((t) => `${t.name} [${t.shape.join(', ')}]`).join(', ') || 'none';
const side = (v: PreprocessorConfig['size'] | PreprocessorConfig['crop_size'], key: 'height' | 'width') =>
  typeof v === 'number' ? v : v?.[key];

/** value = (pixel * scale - mean) / std, as HF image processors rescale then normalise. */
/** PIL's filter numbers (preprocessor_config.json `resample`) as manifest filters; unknown ones keep the cubic most recipes use. */
const PIL_FILTERS: Record<number, 'nearest' | 'lanczos3' | 'linear' | 'cubic'> = {
  0: 'nearest',
  1: 'lanczos3',
  2: 'linear',
  3: 'cubic',
};
export const resizeFilterFrom = (pre: PreprocessorConfig | undefined) => PIL_FILTERS[pre?.resample ?? 3] ?? 'cubic';

function normalizationFrom(pre: PreprocessorConfig | undefined) {
  const normalize = pre?.do_normalize !== false && pre?.image_mean && pre.image_std;
  const triple = (v: number[] | undefined, fallback: number): [number, number, number] =>
    v?.length === 3 ? [v[0], v[1], v[2]] : v?.length === 1 ? [v[0], v[0], v[0]] : [fallback, fallback, fallback];
  return {
    scale: pre?.do_rescale === false ? 1 : (pre?.rescale_factor ?? 1 / 255),
    mean: normalize ? triple(pre.image_mean, 0) : ([0, 0, 0] as [number, number, number]),
    std: normalize ? triple(pre.image_std, 1) : ([1, 1, 1] as [number, number, number]),
  };
}

/** Input size and resize mode: the graph's fixed size, else the processor's crop (or size). */
function sizeFrom(pre: PreprocessorConfig | undefined, image: NonNullable<ReturnType<typeof imageLayout>>) {
  const crop = pre?.do_center_crop !== false && pre?.crop_size !== undefined;
  const shortest =
    typeof pre?.size === 'object'
      ? pre.size.shortest_edge
      : typeof pre?.size === 'number' && crop
        ? pre.size
        : undefined;
  const width = image.width ?? (crop ? side(pre?.crop_size, 'width') : side(pre?.size, 'width'));
  const height = image.height ?? (crop ? side(pre?.crop_size, 'height') : side(pre?.size, 'height'));
  if (!width || !height)
    throw new PullError(
      'the graph takes images of any size and preprocessor_config.json gives none; write model.json by hand',
    );
  // HF image processors resize the shortest edge and centre-crop; a {height, width} size is a plain resize.
  return {
    width,
    height,
    ...(shortest && crop
      ? { resize: 'shorter_side_crop' as const, resize_shorter_side: shortest }
      : { resize: 'stretch' as const }),
  };
}

/** Labels in class order from config.json's id2label ({"0": "tench", ...}). */
export function labelsFromConfig(config: HubModelConfig | undefined): string[] | undefined {
  const entries = Object.entries(config?.id2label ?? {});
  if (!entries.length) return undefined;
  return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, label]) => label);
}

/** What every single-graph manifest is built from: the image input, the one output, batching, normalisation. */
interface GraphFacts {
  imageInput: TensorSignature;
  image: NonNullable<ReturnType<typeof imageLayout>>;
  output: TensorSignature;
  batching: { max_batch_size: number; max_queue_delay_ms: number };
  norm: ReturnType<typeof normalizationFrom>;
}

function classifierManifestFrom(input: GraphManifestInput, g: GraphFacts): ModelManifest {
  const { imageInput, image, output, batching } = g;
  const classes = classCount(output);
  const labels = labelsFromConfig(input.config);
  if (!labels && !input.labelsFile)
    throw new PullError(
      `${input.graphFile} is a classifier but the repository has no labels (config.json id2label, labels.txt or synset.txt)`,
    );
  if (labels && typeof classes === 'number' && labels.length !== classes)
    throw new PullError(`config.json has ${labels.length} labels but ${output.name} has ${classes} classes`);
  const activation = ['Softmax', 'Sigmoid'].includes(input.signature.producers[output.name])
    ? 'none'
    : input.config?.problem_type === 'multi_label_classification'
      ? 'sigmoid'
      : 'softmax';
  return {
    name: input.name,
    kind: 'classifier',
    description: input.description,
    batching,
    files: { model: input.graphFile },
    inputs: { image: imageInput.name },
    outputs: { scores: output.name },
    preprocess: {
      ...sizeFrom(input.preprocessor, image),
      resize_filter: resizeFilterFrom(input.preprocessor),
      ...g.norm,
      channel_order: 'RGB',
      layout: image.layout,
      dtype: imageInput.dtype === 'float16' ? 'float16' : 'float32',
    },
    labels: labels
      ? { file: 'labels.txt', format: 'lines' }
      : { file: input.labelsFile!.file, format: input.labelsFile!.format },
    output_activation: activation,
  };
}

function imageToImageManifestFrom(input: GraphManifestInput, g: GraphFacts): ModelManifest {
  const { imageInput, image, output, batching } = g;
  const out = imageLayout(output);
  const factor = out?.height && image.height ? Math.max(1, Math.round(out.height / image.height)) : 1;
  return {
    name: input.name,
    kind: 'image_to_image',
    description: input.description,
    batching,
    files: { model: input.graphFile },
    inputs: { image: imageInput.name },
    outputs: { image: output.name },
    preprocess: {
      color: image.channels === 1 ? 'luma' : 'rgb',
      width: image.width,
      height: image.height,
      resize: 'stretch',
      channel_order: 'RGB',
      ...g.norm,
      max_input_pixels: 1_048_576,
    },
    output: { scale_factor: factor, range: [0, 1], channel_order: 'RGB', restore_aspect: true },
  };
}

/** How each kind `models pull` writes a manifest for is built from its graph. */
const GRAPH_MANIFESTS: Record<GraphKind, (input: GraphManifestInput, g: GraphFacts) => ModelManifest> = {
  classifier: classifierManifestFrom,
  image_to_image: imageToImageManifestFrom,
};

/**
 * The manifest of a single-graph model, from its graph's signature and the Hub's configs. Labels
 * from config.json are written by the caller to `labels.txt`, which this manifest names.
 */
export function graphManifest(input: GraphManifestInput): ModelManifest {
  const { signature: sig } = input;
  const kind = input.kind ?? detectGraphKind(sig);
  if (!kind)
    throw new PullError(
      `cannot tell the kind of ${input.graphFile} from its inputs (${describe(sig.inputs)}) and outputs (${describe(sig.outputs)}); pass --kind ${GRAPH_KINDS.join('|')}`,
    );
  const imageInput = sig.inputs.find((t) => imageLayout(t));
  if (!imageInput || sig.outputs.length !== 1)
    throw new PullError(
      `${input.graphFile} is not one image in, one tensor out (inputs: ${describe(sig.inputs)}; outputs: ${describe(sig.outputs)}); write model.json by hand`,
    );
  // A fixed batch dimension (1) means the runner must not batch requests together.
  const batching = {
    max_batch_size: typeof imageInput.shape[0] === 'number' ? imageInput.shape[0] : 8,
    max_queue_delay_ms: 4,
  };
  const facts = { imageInput, image: imageLayout(imageInput)!, output: sig.outputs[0], batching };
  return GRAPH_MANIFESTS[kind](input, { ...facts, norm: normalizationFrom(input.preprocessor) });
}
