import { lumaPlane, replaceLuma, rgbToYCbCr, yCbCrToRgb } from '../../workers/imaging/luma-chroma';
import { restoredSize } from '../../workers/pipelines/image-to-image';

const rgb = (pixels: number[][], width = pixels.length) => ({
  data: Buffer.from(pixels.flat()),
  width,
  height: pixels.length / width,
  channels: 3 as const,
});

test('known BT.601 full-range values', () => {
  const close = (got: number[], want: number[]) => got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 3));
  close(rgbToYCbCr(0, 0, 0), [0, 128, 128]);
  close(rgbToYCbCr(255, 255, 255), [255, 128, 128]);
  close(rgbToYCbCr(255, 0, 0), [76.245, 84.97232, 255.5]);
  close(rgbToYCbCr(0, 255, 0), [149.685, 43.52768, 21.23456]);
  close(rgbToYCbCr(0, 0, 255), [29.07, 255.5, 107.26544]);
  expect(yCbCrToRgb(128, 128, 128)).toEqual([128, 128, 128]);
  expect(yCbCrToRgb(76.245, 84.972, 255.5)).toEqual([255, 0, 0]);
});

test('RGB -> YCbCr -> RGB round-trips within 1 over the whole cube', () => {
  let worst = 0;
  for (let r = 0; r < 256; r += 5) {
    for (let g = 0; g < 256; g += 3) {
      for (let b = 0; b < 256; b += 7) {
        const back = yCbCrToRgb(...rgbToYCbCr(r, g, b));
        worst = Math.max(worst, Math.abs(back[0] - r), Math.abs(back[1] - g), Math.abs(back[2] - b));
      }
    }
  }
  expect(worst).toBeLessThanOrEqual(1);
});

test('out-of-gamut YCbCr is clamped to 0..255', () => {
  expect(yCbCrToRgb(255, 255, 255)).toEqual([255, 121, 255]);
  expect(yCbCrToRgb(0, 0, 0)).toEqual([0, 135, 0]);
  expect(yCbCrToRgb(-20, 128, 128)).toEqual([0, 0, 0]);
});

test('lumaPlane is Y scaled and normalised, planar', () => {
  const img = rgb(
    [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 255, 255],
    ],
    2,
  );
  expect(Array.from(lumaPlane(img, 1)).map((v) => Number(v.toFixed(3)))).toEqual([76.245, 149.685, 29.07, 255]);
  expect(lumaPlane(img, 1 / 255)[3]).toBeCloseTo(1, 6);
  expect(lumaPlane(img, 1 / 255, 0.5, 0.5)[3]).toBeCloseTo(1, 6);
});

test('replaceLuma keeps the chroma and takes Y from the plane (range mapped, clamped)', () => {
  const img = rgb(
    [
      [200, 100, 50],
      [10, 20, 30],
      [128, 128, 128],
      [0, 0, 0],
    ],
    2,
  );
  // Feeding the image's own luma back gives the image back.
  const same = replaceLuma(img, lumaPlane(img, 1 / 255), [0, 1]);
  Array.from(same.data).forEach((v, i) => expect(Math.abs(v - img.data[i])).toBeLessThanOrEqual(1));
  const out = replaceLuma(img, Float32Array.from([0, 2, 0.6, -1]), [0, 1]);
  expect(Array.from(out.data.subarray(3, 6))).toEqual(
    yCbCrToRgb(255, ...(rgbToYCbCr(10, 20, 30).slice(1) as [number, number])),
  );
  expect(Array.from(out.data.subarray(6, 9))).toEqual([153, 153, 153]);
  expect(Array.from(out.data.subarray(9, 12))).toEqual([0, 0, 0]);
  expect({ width: out.width, height: out.height, channels: out.channels }).toEqual({
    width: 2,
    height: 2,
    channels: 3,
  });
  expect(() => replaceLuma(img, new Float32Array(3), [0, 1])).toThrow(/luma has 3 values/);
});

test('a range of rows fills only those rows', () => {
  const img = rgb(
    [
      [200, 100, 50],
      [10, 20, 30],
      [128, 128, 128],
      [90, 60, 30],
    ],
    2,
  );
  const whole = lumaPlane(img, 1);
  const parts = new Float32Array(4);
  lumaPlane(img, 1, 0, 1, parts, { from: 1, to: 2 });
  expect(Array.from(parts)).toEqual([0, 0, whole[2], whole[3]]);
  const out = Buffer.alloc(12);
  replaceLuma(img, lumaPlane(img, 1 / 255), [0, 1], out, { from: 0, to: 1 });
  expect(Array.from(out.subarray(6))).toEqual([0, 0, 0, 0, 0, 0]);
  expect(Array.from(out.subarray(0, 6))).toEqual(
    Array.from(replaceLuma(img, lumaPlane(img, 1 / 255), [0, 1]).data.subarray(0, 6)),
  );
});

test('restoredSize keeps the input aspect ratio with the longer side given', () => {
  expect(restoredSize({ width: 1000, height: 500 }, 720)).toEqual({ width: 720, height: 360 });
  expect(restoredSize({ width: 369, height: 480 }, 720)).toEqual({ width: 554, height: 720 });
  expect(restoredSize({ width: 300, height: 300 }, 720)).toEqual({ width: 720, height: 720 });
  expect(restoredSize({ width: 10_000, height: 1 }, 720)).toEqual({ width: 720, height: 1 });
});
