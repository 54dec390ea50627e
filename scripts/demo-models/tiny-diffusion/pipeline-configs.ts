import { BOS_TOKEN, EOS_TOKEN, type ClipVocabulary } from './clip-bpe-vocabulary';
import { VAE_SCALING_FACTOR } from './latent-colour-space';
import { BETA_END, BETA_START, NUM_TRAIN_TIMESTEPS } from './noise-schedule';
import { HIDDEN_SIZE, MAX_LENGTH } from './text-encoder-graph';

/**
 * The JSON files of a diffusers / optimum ONNX export, with the tiny models' real sizes. Field
 * names follow diffusers and transformers so a generic SD pipeline reads them as it would SD 1.x.
 */

/** Latent side the UNet is "trained" at: 32 -> 256x256 images by default. */
export const SAMPLE_SIZE = 32;

/** Relative path -> JSON value, for every config file of the pipeline folder. */
export function pipelineConfigs(vocabulary: ClipVocabulary): Record<string, unknown> {
  const special = (content: string) => ({
    content,
    lstrip: false,
    normalized: true,
    rstrip: false,
    single_word: false,
  });
  const vae = {
    _class_name: 'AutoencoderKL',
    _diffusers_version: '0.21.0',
    act_fn: 'silu',
    block_out_channels: [8, 8, 8, 8],
    down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'],
    up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
    in_channels: 3,
    out_channels: 3,
    latent_channels: 4,
    layers_per_block: 1,
    norm_num_groups: 4,
    sample_size: SAMPLE_SIZE * 8,
    scaling_factor: VAE_SCALING_FACTOR,
  };
  return {
    'model_index.json': {
      _class_name: 'StableDiffusionPipeline',
      _diffusers_version: '0.21.0',
      feature_extractor: [null, null],
      requires_safety_checker: false,
      safety_checker: [null, null],
      scheduler: ['diffusers', 'EulerDiscreteScheduler'],
      text_encoder: ['transformers', 'CLIPTextModel'],
      tokenizer: ['transformers', 'CLIPTokenizer'],
      unet: ['diffusers', 'UNet2DConditionModel'],
      vae: ['diffusers', 'AutoencoderKL'],
    },
    'scheduler/scheduler_config.json': {
      _class_name: 'EulerDiscreteScheduler',
      _diffusers_version: '0.21.0',
      beta_end: BETA_END,
      beta_schedule: 'scaled_linear',
      beta_start: BETA_START,
      clip_sample: false,
      interpolation_type: 'linear',
      num_train_timesteps: NUM_TRAIN_TIMESTEPS,
      prediction_type: 'epsilon',
      set_alpha_to_one: false,
      skip_prk_steps: true,
      steps_offset: 1,
      timestep_spacing: 'leading',
      trained_betas: null,
      use_karras_sigmas: false,
    },
    'text_encoder/config.json': {
      architectures: ['CLIPTextModel'],
      attention_dropout: 0,
      bos_token_id: vocabulary.bosId,
      eos_token_id: vocabulary.eosId,
      pad_token_id: vocabulary.eosId,
      hidden_act: 'quick_gelu',
      hidden_size: HIDDEN_SIZE,
      intermediate_size: HIDDEN_SIZE,
      max_position_embeddings: MAX_LENGTH,
      model_type: 'clip_text_model',
      num_attention_heads: 1,
      num_hidden_layers: 1,
      projection_dim: HIDDEN_SIZE,
      torch_dtype: 'float32',
      vocab_size: vocabulary.vocab.size,
    },
    'unet/config.json': {
      _class_name: 'UNet2DConditionModel',
      _diffusers_version: '0.21.0',
      act_fn: 'silu',
      attention_head_dim: 8,
      block_out_channels: [32, 32],
      cross_attention_dim: HIDDEN_SIZE,
      down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'],
      up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
      in_channels: 4,
      out_channels: 4,
      layers_per_block: 1,
      sample_size: SAMPLE_SIZE,
    },
    'vae_decoder/config.json': vae,
    'vae_encoder/config.json': vae,
    'tokenizer/tokenizer_config.json': {
      add_prefix_space: false,
      bos_token: { __type: 'AddedToken', ...special(BOS_TOKEN) },
      clean_up_tokenization_spaces: true,
      do_lower_case: true,
      eos_token: { __type: 'AddedToken', ...special(EOS_TOKEN) },
      errors: 'replace',
      model_max_length: MAX_LENGTH,
      pad_token: EOS_TOKEN,
      tokenizer_class: 'CLIPTokenizer',
      unk_token: { __type: 'AddedToken', ...special(EOS_TOKEN) },
    },
    'tokenizer/special_tokens_map.json': {
      bos_token: special(BOS_TOKEN),
      eos_token: special(EOS_TOKEN),
      pad_token: EOS_TOKEN,
      unk_token: special(EOS_TOKEN),
    },
  };
}
