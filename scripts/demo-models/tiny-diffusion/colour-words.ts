/**
 * Words that tint the picture. The text encoder writes these into reserved hidden dimensions and
 * the UNet adds them to every colour it draws, so "a red boat" comes out red and "ocean" blue:
 * a demo whose prompts visibly matter. Values are pre-tanh R, G, B offsets of the decoder.
 */

type Rgb = readonly [number, number, number];

const groups: ReadonlyArray<readonly [string, Rgb]> = [
  ['red crimson scarlet', [1.1, -0.7, -0.7]],
  ['orange amber autumn fall', [1.1, 0.2, -0.9]],
  ['yellow sunflower', [0.9, 0.8, -1.0]],
  ['gold golden sun summer', [0.9, 0.55, -0.7]],
  ['green jungle leaf leaves', [-0.7, 0.8, -0.6]],
  ['forest woods tree trees', [-0.6, 0.5, -0.5]],
  ['grass meadow field fields garden spring', [-0.2, 0.8, -0.7]],
  ['emerald teal', [-0.9, 0.5, 0.0]],
  ['cyan turquoise aurora', [-0.9, 0.6, 0.7]],
  ['blue ocean sea water lake river waterfall wave waves', [-0.8, -0.1, 0.9]],
  ['sky skies', [-0.4, 0.2, 0.9]],
  ['navy night midnight', [-1.0, -0.8, 0.2]],
  ['indigo space cosmos universe', [-0.5, -0.9, 0.6]],
  ['purple violet galaxy nebula', [0.3, -0.8, 0.8]],
  ['lavender dusk', [0.4, 0.0, 0.7]],
  ['magenta neon', [0.9, -0.9, 0.7]],
  ['pink rose roses cherry blossom flower flowers', [1.0, -0.2, 0.3]],
  ['sunset sunrise dawn', [1.0, 0.0, -0.3]],
  ['fire flame flames lava burning', [1.1, -0.1, -1.0]],
  ['desert sand dune beach', [0.8, 0.4, -0.4]],
  ['brown bear wood', [0.3, -0.3, -0.8]],
  ['beige bread cake', [0.6, 0.4, 0.0]],
  ['white snow winter cloud clouds', [0.8, 0.85, 0.9]],
  ['ice crystal diamond', [0.2, 0.6, 0.9]],
  ['silver moon', [0.35, 0.4, 0.55]],
  ['black dark shadow', [-1.0, -1.0, -0.9]],
  ['storm stormy rain rainy smoke', [-0.5, -0.4, -0.2]],
];

/** Word -> pre-tanh RGB tint. */
export const COLOUR_WORDS: ReadonlyMap<string, Rgb> = new Map(
  groups.flatMap(([words, rgb]) => words.split(' ').map((w) => [w, rgb] as const)),
);
