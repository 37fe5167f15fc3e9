/** Index just past the JSON string starting at `i` (an opening quote). */
function skipString(line: string, i: number): number {
  let j = i + 1;
  while (j < line.length && line.charCodeAt(j) !== 34 /* " */) j += line.charCodeAt(j) === 92 /* \ */ ? 2 : 1;
  return j + 1;
}

/** Index just past the JSON value starting at `i`. */
function skipValue(line: string, i: number): number {
  const c = line.charCodeAt(i);
  if (c === 34) return skipString(line, i);
  if (c !== 123 /* { */ && c !== 91 /* [ */) {
    let j = i;
    while (j < line.length && !",}]".includes(line.charAt(j))) j++;
    return j;
  }
  let depth = 0;
  let j = i;
  while (j < line.length) {
    const d = line.charCodeAt(j);
    if (d === 34) {
      j = skipString(line, j);
      continue;
    }
    if (d === 123 || d === 91) depth++;
    else if ((d === 125 || d === 93) && --depth === 0) return j + 1;
    j++;
  }
  return j;
}

/**
 * The exact source text of a top-level field of a JSON object line as load files write it (no whitespace):
 * numbers beyond 2^53 lose digits in JSON.parse, their text does not.
 *
 * @example
 * rawField('{"id":9223372036854775807}', "id") // "9223372036854775807"
 */
export function rawField(line: string, key: string): string | undefined {
  const want = JSON.stringify(key);
  let i = line.indexOf("{") + 1;
  while (i > 0 && i < line.length && line.charCodeAt(i) === 34) {
    const keyEnd = skipString(line, i);
    const valueEnd = skipValue(line, keyEnd + 1);
    if (line.slice(i, keyEnd) === want) return line.slice(keyEnd + 1, valueEnd);
    i = valueEnd + 1; // past the comma
  }
  return undefined;
}
