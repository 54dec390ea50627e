import { LATENT_BASIS } from './latent-colour-space';

/**
 * The tiny UNet's data model: a clean latent is x0 = mu(prompt) + d, with d Gaussian, zero-mean
 * and the same for every prompt. d is diagonal in a fixed orthonormal basis: a 4x4 channel
 * rotation (luma, two chroma directions and texture, in the VAE's colour space) followed by the
 * orthonormal 2-D DCT-II of each rotated channel. Coefficient (c, ky, kx) of an H x W latent has
 * variance
 *
 *   s2 = H W amp_c^2 g(f) / sum(g) + floor_c^2,   g(f) = (1 + (f / F0)^2)^-P,
 *   f = sqrt((ky S / H)^2 + (kx S / W)^2),  S = min(H, W)  (half-cycles across the shorter side),
 *
 * so a sample's deviation has per-element variance amp_c^2 + floor_c^2 at any size, its blobs
 * scale with the picture, and every direction has some variance (image-to-image keeps detail).
 * The optimal epsilon-predictor for x_t = sqrt(abar) x0 + sqrt(1 - abar) eps is then exact and
 * cheap: eps = sqrt(1 - abar) (abar C + (1 - abar) I)^-1 (x_t - sqrt(abar) mu), one division per
 * coefficient. Classifier-free guidance keeps it Gaussian, with the mean mu_u + g (mu_c - mu_u).
 */

/** Spectrum corner, in half-cycles across the shorter side, and fall-off exponent. */
export const PRIOR_F0 = 2;
export const PRIOR_P = 1.5;

/**
 * Per rotated channel (luma, chroma 1, chroma 2, texture): the smooth part's amplitude and a small
 * white floor, in latent units. Luma varies most, so seeds change light and shade more than hue;
 * the prompt's guided mean still sets the palette and layout. Picked with the checks in
 * tests/integration/diffusion.test.ts: 4 seeds at 64x64 differ by >= 8/255, image-to-image at
 * strength 0.3 keeps luma correlation >= 0.8 with a photo.
 */
export const PRIOR_AMPLITUDE = [4.4, 1.5, 1.5, 0.8] as const;
export const PRIOR_FLOOR = [0.05, 0.05, 0.05, 0.05] as const;

const COLOUR_DIRECTIONS: ReadonlyArray<readonly [number, number, number]> = [
  [1 / Math.sqrt(3), 1 / Math.sqrt(3), 1 / Math.sqrt(3)],
  [1 / Math.sqrt(2), -1 / Math.sqrt(2), 0],
  [1 / Math.sqrt(6), 1 / Math.sqrt(6), -2 / Math.sqrt(6)],
];

/**
 * Rows of the channel rotation, in latent coordinates: luma and chroma as mixes of LATENT_BASIS's
 * R, G, B rows, then its texture row. Orthonormal because LATENT_BASIS and the directions are.
 */
export function priorChannelRotation(): number[][] {
  const colours = COLOUR_DIRECTIONS.map((rgb) =>
    [0, 1, 2, 3].map((o) => rgb.reduce((sum, w, i) => sum + w * LATENT_BASIS[i][o], 0)),
  );
  return [...colours, [...LATENT_BASIS[3]]];
}
