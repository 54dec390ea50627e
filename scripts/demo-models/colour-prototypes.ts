/**
 * The colour names demo-colors answers with, each drawn as a few sRGB prototypes, and the
 * perceptual-ish space they are compared in. The graph and this file must agree on the space, so
 * the sRGB -> Oklab maths lives here once and the graph copies its matrices.
 */

/** sRGB (0..255) prototypes per label; a pixel votes for the label of its nearest prototype. */
export const COLOUR_PROTOTYPES: ReadonlyArray<{
  label: string;
  srgb: ReadonlyArray<readonly [number, number, number]>;
}> = [
  {
    label: 'red',
    srgb: [
      [255, 0, 0],
      [220, 30, 40],
      [170, 15, 25],
    ],
  },
  {
    label: 'orange',
    srgb: [
      [255, 140, 0],
      [245, 120, 40],
      [255, 170, 80],
    ],
  },
  {
    label: 'yellow',
    srgb: [
      [255, 235, 0],
      [245, 225, 90],
      [255, 250, 150],
    ],
  },
  {
    label: 'green',
    srgb: [
      [0, 255, 0],
      [40, 170, 60],
      [0, 110, 30],
      [140, 210, 80],
      [110, 130, 40],
    ],
  },
  {
    label: 'cyan',
    srgb: [
      [0, 255, 255],
      [0, 190, 200],
      [140, 235, 235],
    ],
  },
  {
    label: 'blue',
    srgb: [
      [0, 0, 255],
      [30, 80, 210],
      [0, 20, 130],
      [90, 150, 240],
      [140, 190, 240],
    ],
  },
  {
    label: 'purple',
    srgb: [
      [130, 0, 170],
      [150, 90, 210],
      [75, 20, 110],
      [190, 150, 230],
    ],
  },
  {
    label: 'pink',
    srgb: [
      [255, 105, 180],
      [255, 180, 205],
      [230, 0, 230],
      [215, 50, 130],
    ],
  },
  {
    label: 'brown',
    srgb: [
      [140, 75, 25],
      [100, 55, 25],
      [175, 120, 70],
      [70, 40, 20],
    ],
  },
  {
    label: 'black',
    srgb: [
      [0, 0, 0],
      [28, 28, 30],
    ],
  },
  {
    label: 'white',
    srgb: [
      [255, 255, 255],
      [238, 238, 232],
    ],
  },
  {
    label: 'gray',
    srgb: [
      [128, 128, 128],
      [80, 80, 82],
      [185, 185, 185],
      [120, 130, 140],
    ],
  },
];

/** Weight of the a and b (chroma) axes against lightness: hue names matter more than shade. */
export const CHROMA_WEIGHT = 2;

/** Gamma used to linearise sRGB; a plain power is cheap in a graph and close enough for naming. */
export const SRGB_GAMMA = 2.2;

/** Linear sRGB -> LMS (Oklab, Björn Ottosson 2020), rows are output channels. */
export const LINEAR_TO_LMS = [
  [0.4122214708, 0.5363325363, 0.0514459929],
  [0.2119034982, 0.6806995451, 0.1073969566],
  [0.0883024619, 0.2817188376, 0.6299787005],
] as const;

/** Cube-rooted LMS -> Oklab (L, a, b). */
export const LMS_TO_OKLAB = [
  [0.2104542553, 0.793617785, -0.0040720468],
  [1.9779984951, -2.428592205, 0.4505937099],
  [0.0259040371, 0.7827717662, -0.808675766],
] as const;

function multiply(matrix: ReadonlyArray<ReadonlyArray<number>>, v: readonly number[]): number[] {
  return matrix.map((row) => row[0] * v[0] + row[1] * v[1] + row[2] * v[2]);
}

/** The comparison space of an sRGB colour (0..1): Oklab with the chroma axes weighted. */
export function comparisonSpace(rgb: readonly [number, number, number]): number[] {
  const linear = rgb.map((c) => Math.pow(Math.min(Math.max(c, 0), 1), SRGB_GAMMA));
  const lms = multiply(LINEAR_TO_LMS, linear).map((c) => Math.cbrt(c));
  const [l, a, b] = multiply(LMS_TO_OKLAB, lms);
  return [l, CHROMA_WEIGHT * a, CHROMA_WEIGHT * b];
}

/** Label names in output order. */
export const COLOUR_LABELS = COLOUR_PROTOTYPES.map((entry) => entry.label);
