/**
 * Typed CSV reading: the RFC 4180 parser (quotes, escaped quotes, NULL vs empty string, CRLF, line breaks inside
 * quotes, any split of the input into pieces) and readTypedCsv's conversion of canonical text per column type.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type CsvColumn, CsvParser, readTypedCsv } from "../../src/formats/typed-csv.js";

/** Every record of `pieces` fed to one parser in order. */
function parse(...pieces: string[]): (string | null)[][] {
  const parser = new CsvParser();
  const out: (string | null)[][] = [];
  for (const piece of pieces.slice(0, -1)) out.push(...parser.push(piece));
  out.push(...parser.end(pieces.at(-1) ?? ""));
  return out;
}

const dir = mkdtempSync(join(tmpdir(), "ferry-tcsv-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

/** Writes `content` to a fresh file and reads it back with `columns`. */
async function readBack(content: string | Buffer, columns: CsvColumn[]): Promise<Record<string, unknown>[]> {
  const path = join(dir, `f${fileNo++}.csv`);
  writeFileSync(path, content);
  const out: Record<string, unknown>[] = [];
  for await (const rec of readTypedCsv(path, columns)) out.push(rec);
  return out;
}

describe("CsvParser", () => {
  test("plain fields, one record per line", () => {
    assert.deepEqual(parse("1,abc,x y\n2,def,z\n"), [
      ["1", "abc", "x y"],
      ["2", "def", "z"],
    ]);
  });

  test("an empty unquoted field is NULL, a quoted empty field is the empty string", () => {
    assert.deepEqual(parse(',"",a,\n""\n\n'), [[null, "", "a", null], [""], [null]]);
  });

  test("quoted fields keep commas, line breaks and escaped quotes", () => {
    assert.deepEqual(parse('"a,b","say ""hi""","l1\nl2\r\nl3",""""\n'), [
      ["a,b", 'say "hi"', "l1\nl2\r\nl3", '"'],
    ]);
  });

  test("a quote inside an unquoted field is an ordinary character", () => {
    assert.deepEqual(parse('ab"c,d""\n'), [['ab"c', 'd""']]);
  });

  test("CRLF line ends, after unquoted and quoted fields alike", () => {
    assert.deepEqual(parse('1,x\r\n2,"y"\r\n3,\r\n'), [
      ["1", "x"],
      ["2", "y"],
      ["3", null],
    ]);
  });

  test("a CR not followed by LF stays in the field", () => {
    assert.deepEqual(parse("a\rb,c\n"), [["a\rb", "c"]]);
  });

  test("the last record needs no line end; a final lone CR is its end", () => {
    assert.deepEqual(parse("1,a\n2,b"), [
      ["1", "a"],
      ["2", "b"],
    ]);
    assert.deepEqual(parse("1,a\r"), [["1", "a"]]);
    assert.deepEqual(parse('1,"a"'), [["1", "a"]]);
    assert.deepEqual(parse("1,"), [["1", null]]);
    assert.deepEqual(parse(""), []);
  });

  test("input ending inside a quoted field is an error", () => {
    assert.throws(() => parse('1,"abc\n'), /typed CSV ends inside a quoted field/);
    assert.throws(() => parse('1,"a""'), /typed CSV ends inside a quoted field/);
  });

  test("the input split at every position (and char by char) gives the same records", () => {
    const text =
      '1,plain,"a,b",,"",x\r\n' +
      '2,"say ""hi""","multi\nline\r\nend","""",ü😀,"\r"\n' +
      '3,"ends with quote""","",,"x\ry",\r\n' +
      "4,last,,,,no line end";
    const whole = parse(text);
    assert.equal(whole.length, 4);
    assert.deepEqual(whole[1], ["2", 'say "hi"', "multi\nline\r\nend", '"', "ü😀", "\r"]);
    assert.deepEqual(whole[2], ["3", 'ends with quote"', "", null, "x\ry", null]);
    for (let i = 0; i <= text.length; i++) {
      assert.deepEqual(parse(text.slice(0, i), text.slice(i)), whole, `split at ${i}`);
      for (let j = i; j <= text.length; j += 7) {
        assert.deepEqual(
          parse(text.slice(0, i), text.slice(i, j), text.slice(j)),
          whole,
          `split at ${i} and ${j}`,
        );
      }
    }
    assert.deepEqual(parse(...[...text], ""), whole, "char by char");
    // Empty pieces between the characters change nothing either.
    assert.deepEqual(parse(...[...text].flatMap((ch) => [ch, ""])), whole, "with empty pieces");
  });
});

describe("readTypedCsv", () => {
  const ALL: CsvColumn[] = [
    { name: "id", type: "bigint" },
    { name: "f", type: "double" },
    { name: "dec", type: "decimal", precision: 12, scale: 2 },
    { name: "flag", type: "bool" },
    { name: "txt", type: "text" },
    { name: "doc", type: "json" },
    { name: "raw", type: "binary" },
    { name: "at", type: "timestamp" },
    { name: "day", type: "date" },
    { name: "tod", type: "time" },
  ];

  test("converts each type's canonical text to the value a resource would yield", async () => {
    const bytes = Buffer.from(Array.from({ length: 64 }, (_, i) => i * 4));
    const rows = await readBack(
      [
        `42,1.5,-12.50,t,"a, ""b""","{""a"":[1,""""]}",${Buffer.from("hi").toString("base64")},2024-01-05 12:30:00.123456+00,2024-02-29,23:59:59.999999`,
        `9007199254740993,NaN,0,f,"",[],${bytes.toString("base64")},2024-01-05 12:30:00+00,0001-01-01,00:00:00`,
        `-9223372036854775808,-Infinity,99999999999.99,true,"line\r\nbreak",null,"",infinity,9999-12-31,12:00:00.5`,
        `9007199254740991,Infinity,-0.01,false,x,"""s""",,-infinity,,`,
        "-7,-1.5e-7,,,,,,,,",
      ].join("\n"),
      ALL,
    );
    assert.deepEqual(rows, [
      {
        id: 42,
        f: 1.5,
        dec: "-12.50",
        flag: true,
        txt: 'a, "b"',
        doc: { a: [1, ""] },
        raw: Buffer.from("hi"),
        at: "2024-01-05T12:30:00.123456Z",
        day: "2024-02-29",
        tod: "23:59:59.999999",
      },
      {
        id: 9007199254740993n,
        f: Number.NaN,
        dec: "0",
        flag: false,
        txt: "",
        doc: [],
        raw: bytes,
        at: "2024-01-05T12:30:00Z",
        day: "0001-01-01",
        tod: "00:00:00",
      },
      {
        id: -9223372036854775808n,
        f: Number.NEGATIVE_INFINITY,
        dec: "99999999999.99",
        flag: true,
        txt: "line\r\nbreak",
        doc: null,
        raw: Buffer.alloc(0),
        at: "infinity",
        day: "9999-12-31",
        tod: "12:00:00.5",
      },
      {
        id: 9007199254740991,
        f: Number.POSITIVE_INFINITY,
        dec: "-0.01",
        flag: false,
        txt: "x",
        doc: "s",
        raw: null,
        at: "-infinity",
        day: null,
        tod: null,
      },
      {
        id: -7,
        f: -1.5e-7,
        dec: null,
        flag: null,
        txt: null,
        doc: null,
        raw: null,
        at: null,
        day: null,
        tod: null,
      },
    ]);
    assert.equal(typeof rows[0]?.id, "number");
    assert.equal(typeof rows[1]?.id, "bigint");
    assert.ok(Buffer.isBuffer(rows[1]?.raw));
  });

  test("reads a file of several MB: records and UTF-8 characters split across read chunks stay whole", async () => {
    const cols: CsvColumn[] = [
      { name: "id", type: "bigint" },
      { name: "txt", type: "text" },
    ];
    // 3-byte and 4-byte characters and quoted line breaks: 1 MB read chunks end inside them somewhere.
    const value = (i: number) => `€${i} "😀"\n,${"ü".repeat(i % 50)}`;
    const n = 60_000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(`${i},"${value(i).replaceAll('"', '""')}"`);
    const content = `${lines.join("\r\n")}\r\n`;
    assert.ok(Buffer.byteLength(content) > 3 * (1 << 20));
    const rows = await readBack(content, cols);
    assert.equal(rows.length, n);
    for (let i = 0; i < n; i++) assert.deepEqual(rows[i], { id: i, txt: value(i) }, `record ${i}`);
  });

  test("a record whose field count differs from the declared columns fails, naming the record", async () => {
    const cols: CsvColumn[] = [
      { name: "id", type: "bigint" },
      { name: "txt", type: "text" },
    ];
    const path = join(dir, "mismatch.csv");
    writeFileSync(path, '1,a\n2,"b,c",d\n3,e\n');
    const seen: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const rec of readTypedCsv(path, cols)) seen.push(rec);
      })(),
      {
        message: `typed CSV ${path}, record 2: 3 fields, but 2 columns are declared`,
      },
    );
    assert.deepEqual(seen, [{ id: 1, txt: "a" }]);
    await assert.rejects(readBack("1\n", cols), /record 1: 1 fields, but 2 columns are declared/);
  });

  test("a file ending inside a quoted field fails", async () => {
    await assert.rejects(
      readBack('1,"open\n', [
        { name: "id", type: "bigint" },
        { name: "txt", type: "text" },
      ]),
      /ends inside a quoted field/,
    );
  });
});
