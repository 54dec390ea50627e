import { z } from 'zod';
import {
  classificationResultSchema,
  generationResultSchema,
  imageOutputSchema,
  type ImageOutput,
  type JobPayload,
  type QueueName,
  type StagedImage,
} from './job-contract';

/** An output image as clients see it: no storage key, a URL to fetch it from instead. */
export const publicImageSchema = imageOutputSchema.omit({ key: true }).extend({ url: z.string() });

/** What a batch parent records when all its children have finished (BullMQ's dependency counts). */
const batchResultSchema = z.object({
  jobs: z.number().int(),
  processed: z.number().int().optional(),
  unprocessed: z.number().int().optional(),
  ignored: z.number().int().optional(),
  failed: z.number().int().optional(),
});

export const jobResultSchema = z.union([
  z.object({ images: z.array(publicImageSchema) }),
  classificationResultSchema,
  batchResultSchema,
]);
export type JobResult = z.infer<typeof jobResultSchema>;

type PayloadOf<Q extends QueueName> = Extract<JobPayload, { type: Q }>;

/** What the API shows and offers of a job, by job type (queue). */
interface JobTypeSpec<Q extends QueueName> {
  /** The parameters clients see: no storage keys. */
  publicParams(data: PayloadOf<Q>): Record<string, unknown>;
  /** The result clients see, from what the worker returned: image keys become URLs. */
  publicResult(id: string, returnvalue: unknown): JobResult;
  /** Whether the job's result is output images (`/v1/jobs/{id}/images/{index}`). */
  makesImages: boolean;
  /** The images the worker stored, from what it returned (none when it makes none). */
  outputImages(returnvalue: unknown): ImageOutput[];
  /** The staged input images, offered again in the job's zip. */
  inputs(data: PayloadOf<Q>): StagedImage[];
  /** Whether the zip's manifest carries the result (a classification's labels). */
  resultInArchive: boolean;
  /** Work the job stands for, so runs of different sizes compare (queue estimates). */
  workUnits(data: PayloadOf<Q>): number;
}

/** Images, times steps for diffusion. */
const imageUnits = (data: { params: { n: number; steps?: number } }) => data.params.n * (data.params.steps ?? 1);

const outputImages = (returnvalue: unknown) => generationResultSchema.parse(returnvalue).images;

function publicImages(id: string, returnvalue: unknown): JobResult {
  const result = generationResultSchema.parse(returnvalue);
  return {
    ...result,
    images: result.images.map(({ key: _key, ...image }) => ({ ...image, url: `/v1/jobs/${id}/images/${image.index}` })),
  };
}

const publicInput = ({ key: _key, pixels: _pixels, ...input }: StagedImage) => input;

/** Every job type: one without an entry does not compile. */
const JOB_TYPES: { [Q in QueueName]: JobTypeSpec<Q> } = {
  generation: {
    publicParams: (data) => ({ ...data.params }),
    publicResult: publicImages,
    makesImages: true,
    outputImages,
    inputs: () => [],
    resultInArchive: false,
    workUnits: imageUnits,
  },
  image_to_image: {
    publicParams: (data) => ({ ...data.params, input: publicInput(data.input) }),
    publicResult: publicImages,
    makesImages: true,
    outputImages,
    inputs: (data) => [data.input],
    resultInArchive: false,
    workUnits: imageUnits,
  },
  classification: {
    publicParams: (data) => ({
      ...data.params,
      images: data.inputs.map(({ filename, width, height, format, bytes }, index) => ({
        index,
        filename,
        width,
        height,
        format,
        bytes,
      })),
    }),
    publicResult: (_id, returnvalue) => classificationResultSchema.parse(returnvalue),
    makesImages: false,
    outputImages: () => [],
    inputs: (data) => data.inputs,
    resultInArchive: true,
    workUnits: (data) => data.inputs.length,
  },
  batch: {
    publicParams: (data) => ({ jobs: data.children.length }),
    // Written by the batch processor from BullMQ's counts: shown as it is.
    publicResult: (_id, returnvalue) => returnvalue as JobResult,
    makesImages: false,
    outputImages: () => [],
    inputs: () => [],
    resultInArchive: false,
    workUnits: (data) => data.children.length,
  },
};

/** The spec of a job's type. */
export function jobTypeOf(data: JobPayload): JobTypeSpec<QueueName> {
  // TypeScript cannot correlate the table's value with the payload's type; the table's type does.
  return JOB_TYPES[data.type] as unknown as JobTypeSpec<QueueName>;
}
