/**
 * lz-string's base64 format (`LZString.compressToBase64`, what posthog-js sends as `compression=lz64`), decompressed
 * with a cap on the output. The `lz-string` package has no cap, and a few KB of lz-string can expand to gigabytes:
 * this reader stops as soon as the output would pass `maxChars`.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/** Why an lz64 payload could not be read. */
export class Lz64Error extends Error {
  constructor(
    message: string,
    /** True when the output would pass the cap (a 413), false when the input is not lz64 (a 400). */
    readonly tooLarge: boolean,
  ) {
    super(message);
  }
}

/**
 * Decompresses lz-string base64 text. Throws `Lz64Error` when the text is not lz-string data or its output would be
 * longer than `maxChars` UTF-16 code units.
 *
 * @example
 * decompressLz64(LZString.compressToBase64('{"event":"x"}'), 2_000_000); // '{"event":"x"}'
 */
export function decompressLz64(input: string, maxChars: number): string {
  // Each base64 character carries 6 bits, read from the most significant one.
  let index = 0;
  let value = 0;
  let bitMask = 0;
  const readBits = (count: number): number => {
    let bits = 0;
    for (let power = 0; power < count; power++) {
      if (bitMask === 0) {
        if (index >= input.length) throw new Lz64Error("lz64 data ends early (truncated or not lz64)", false);
        const code = input.charCodeAt(index++);
        const v = code < 128 ? VALUE[code]! : -1;
        if (v < 0) throw new Lz64Error(`lz64 data holds a character outside base64 at ${index - 1}`, false);
        value = v;
        bitMask = 32;
      }
      if (value & bitMask) bits |= 1 << power;
      bitMask >>= 1;
    }
    return bits;
  };

  if (input.length === 0) throw new Lz64Error("lz64 data is empty", false);
  const dictionary: string[] = ["", "", ""];
  let enlargeIn = 4;
  let numBits = 3;
  let outChars = 0;
  const out: string[] = [];

  const first = readBits(2);
  if (first === 2) return "";
  if (first > 2) throw new Lz64Error("lz64 data does not start like lz-string output", false);
  let w = String.fromCharCode(readBits(first === 0 ? 8 : 16));
  dictionary[3] = w;
  out.push(w);
  outChars = 1;

  for (;;) {
    let code = readBits(numBits);
    if (code === 0 || code === 1) {
      dictionary.push(String.fromCharCode(readBits(code === 0 ? 8 : 16)));
      code = dictionary.length - 1;
      enlargeIn--;
    } else if (code === 2) {
      return out.join("");
    }
    if (enlargeIn === 0) {
      enlargeIn = 2 ** numBits;
      numBits++;
    }
    let entry: string;
    if (code < dictionary.length) entry = dictionary[code]!;
    else if (code === dictionary.length) entry = w + w.charAt(0);
    else throw new Lz64Error("lz64 data refers to a dictionary entry that does not exist", false);
    outChars += entry.length;
    if (outChars > maxChars) {
      throw new Lz64Error(`lz64 payload decompresses to more than ${maxChars} characters`, true);
    }
    out.push(entry);
    dictionary.push(w + entry.charAt(0));
    enlargeIn--;
    w = entry;
    if (enlargeIn === 0) {
      enlargeIn = 2 ** numBits;
      numBits++;
    }
  }
}
