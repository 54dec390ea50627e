/**
 * A generation that runs for seconds even on a fast machine (4 demo-diffusion images of 150 steps
 * at 1024x1024), for tests that must catch a job running, to cancel or watch it. Shorter jobs (16
 * demo-cppn images, a 512x512 diffusion) ended before the test looked on fast VMs.
 */
export const LONG_GENERATION = {
  model: 'demo-diffusion',
  n: 4,
  steps: 150,
  width: 1024,
  height: 1024,
  prompt: 'long job',
} as const;
