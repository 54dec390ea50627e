// What the page reads of the public API (README "API (v1)"; the full schemas are in /openapi.json).
// Only the type checker reads this file; the server does not serve it.

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface OutputImage {
  index: number;
  url?: string;
  width: number;
  height: number;
  seed?: number;
  content_type?: string;
  bytes?: number;
}

export interface Prediction {
  index: number;
  labels: { label: string; score: number }[];
}

export interface JobView {
  id: string;
  status: JobStatus;
  progress: number;
  step?: number;
  steps?: number;
  params?: Record<string, unknown>;
  created_at: string;
  finished_at: string | null;
  result?: { images?: OutputImage[]; predictions?: Prediction[] };
  error?: { code: string; message: string };
}

/** What a job card shows: a job, or a submission the API has not answered yet. */
export type CardView = { status: JobStatus | 'uploading'; progress?: number } & Partial<
  Omit<JobView, 'status' | 'progress'>
>;

/** The data of a `progress` event of `GET /v1/jobs/{id}/events`. */
export interface JobProgress {
  value: number;
  step?: number;
  steps?: number;
}

/** The `error` of an error answer: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: { field: string; message: string }[];
}

export interface NumberRange {
  min?: number;
  max?: number;
  default?: number;
}

/** Each request field a model accepts, with its range and default (`GET /v1/models`). */
export interface ModelParameters {
  prompt?: { accepted?: boolean };
  n?: NumberRange;
  width?: NumberRange;
  height?: NumberRange;
  seed?: NumberRange;
  steps?: NumberRange;
  guidance_scale?: NumberRange;
  strength?: NumberRange;
  scheduler?: { values?: string[]; default?: string };
  output_format?: string[];
}

export type JobType = 'generation' | 'classification' | 'image_to_image';

export interface ModelInfo {
  name: string;
  kind: string;
  job_type: JobType;
  description?: string;
  /** One of darkroom's own demo models. */
  demo: boolean;
  /** The job types a request that names no model runs on this one for (the server decides). */
  default_for: JobType[];
  image_to_image?: boolean;
  parameters: ModelParameters;
}
