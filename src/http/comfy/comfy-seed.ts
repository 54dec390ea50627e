/**
 * ComfyUI seeds are 0..2^64-1 (clients send random ones around 2^50); darkroom's are 0..2^32-1.
 * The fold keeps seeds below 2^32 as they are and XORs the high 32 bits into the low ones above,
 * so the same ComfyUI seed always gives the same darkroom seed (and so the same image), and
 * seeds that differ only in their high bits still differ. A JSON number above 2^53 has already
 * lost its low bits in any client; it is folded as the number it parsed to.
 */
export const COMFY_SEED_MAX = 2 ** 64;

export function foldSeed(seed: number): number {
  if (seed <= 0xffffffff) return seed;
  const big = BigInt(Math.trunc(seed)) & 0xffffffffffffffffn;
  const folded = (big & 0xffffffffn) ^ ((big >> 32n) & 0xffffffffn);
  return Number(folded);
}
