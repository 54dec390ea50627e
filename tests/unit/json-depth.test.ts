import { createJsonDepthGauge } from '../../src/http/json-depth';

/** The streaming nesting check that runs before JSON.parse (src/http/json-depth.ts). */
const fits = (max: number, ...chunks: string[]) => {
  const gauge = createJsonDepthGauge(max);
  return chunks.every((c) => gauge.push(Buffer.from(c)));
};

test('counts arrays and objects alike, up to and past the maximum', () => {
  expect(fits(3, '[{"a":[1]}]')).toBe(true);
  expect(fits(3, '[{"a":[[1]]}]')).toBe(false);
  expect(fits(2, '[1],[2],{"a":3}')).toBe(true);
});

test('brackets inside strings, escaped quotes included, are not nesting', () => {
  expect(fits(1, '{"a":"[[[{{{"}')).toBe(true);
  expect(fits(1, '{"a":"\\"[[[","b":"\\\\"}')).toBe(true);
  expect(fits(1, '{"a":"\\\\",  "b":[1]}')).toBe(false);
});

test('state carries across chunk boundaries, inside strings and escapes too', () => {
  expect(fits(2, '[["', '\\', '"]]]"', ']]')).toBe(true);
  expect(fits(2, '[', '[', '[')).toBe(false);
});

test('multi-byte UTF-8 is never mistaken for structure', () => {
  expect(fits(1, '{"a":"ſ[𝄞{ü"}')).toBe(true);
});

test('16 million [ are refused at the 33rd byte', () => {
  const gauge = createJsonDepthGauge(32);
  expect(gauge.push(Buffer.alloc(16_000_000, '['))).toBe(false);
});
