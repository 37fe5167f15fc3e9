import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { normalizeIdentifier, shortenIdentifier, variantColumnName } from "../../src/schema/naming.js";

const bytes = (s: string) => Buffer.byteLength(s, "utf8");
const sha8 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 8);

function expectNames(cases: Array<[string, string]>): void {
  for (const [raw, want] of cases)
    assert.equal(normalizeIdentifier(raw), want, `normalizeIdentifier(${JSON.stringify(raw)})`);
}

describe("normalizeIdentifier", () => {
  test("camelCase and PascalCase become snake_case", () => {
    expectNames([
      ["createdAt", "created_at"],
      ["CreatedAt", "created_at"],
      ["updatedAtUtc", "updated_at_utc"],
      ["a1B", "a1_b"],
      ["already_snake", "already_snake"],
      ["lower", "lower"],
    ]);
  });

  test("acronyms stay together", () => {
    expectNames([
      ["orderID", "order_id"],
      ["HTTPServer", "http_server"],
      ["userIDNumber", "user_id_number"],
      ["ABC", "abc"],
      ["parseJSON", "parse_json"],
    ]);
  });

  test("spaces and punctuation become single underscores; surrounding whitespace is trimmed", () => {
    expectNames([
      ["Order ID", "order_id"],
      ["order-id", "order_id"],
      ["a.b", "a_b"],
      ["foo.bar.baz", "foo_bar_baz"],
      ["e-mail", "e_mail"],
      ["  spaced  out ", "spaced_out"],
      ["\tName\n", "name"],
      ["x_", "x"],
      ["a-", "a"],
      ["-a", "_a"],
      ["_a", "_a"],
      ["+1", "_plus_1"],
      ["@type", "_at_type"],
    ]);
  });

  test("unicode letters without an ASCII form are kept", () => {
    expectNames([
      ["名前", "名前"],
      ["Имя", "имя"],
      ["𠀀𠀁", "𠀀𠀁"],
      ["ユーザーID", "ユーザーid"],
      ["नाम", "नाम"],
      ["Йогурт", "йогурт"],
      ["ｶﾞ", "ガ"],
    ]);
    // Marks that are part of a letter in other scripts are kept (only Latin accents are stripped).
    assert.notEqual(normalizeIdentifier("ユーザー"), normalizeIdentifier("ユーサー"));
    assert.notEqual(normalizeIdentifier("й"), normalizeIdentifier("и"));
  });

  test("accents are stripped and special letters transliterated", () => {
    expectNames([
      ["café", "cafe"],
      ["ÀÉÎ", "aei"],
      ["ñandú", "nandu"],
      ["a\u0301", "a"],
      ["\u0301abc", "abc"],
      ["Łódź", "lodz"],
      ["ĐorđeVić", "dorde_vic"],
      ["ﬁle", "file"],
      ["𝒜bc", "abc"],
      ["Œuvre", "oeuvre"],
      ["ŒUVRE", "oeuvre"],
      ["Ærø", "aero"],
      ["Þór", "thor"],
    ]);
  });

  test("ß and ẞ become ss", () => {
    expectNames([
      ["Größe", "grosse"],
      ["straße", "strasse"],
      ["Straße", "strasse"],
      ["GRÖẞE", "grosse"],
      ["STRASSE", "strasse"],
    ]);
  });

  test("leading digits get an underscore prefix", () => {
    expectNames([
      ["2fa", "_2fa"],
      ["123", "_123"],
      ["1st place", "_1st_place"],
      ["①", "_1"],
      ["a2", "a2"],
    ]);
  });

  test("empty, whitespace-only and punctuation-only keys become _empty", () => {
    expectNames([
      ["", "_empty"],
      ["   ", "_empty"],
      ["\t\n", "_empty"],
      ["_", "_empty"],
      ["___", "_empty"],
      ["-", "_empty"],
      ["?!", "_empty"],
    ]);
  });

  test("SQL-looking keys are reduced to plain identifiers", () => {
    expectNames([
      ["DROP TABLE x;--", "drop_table_x"],
      ['"; DELETE FROM t; --', "_delete_from_t"],
      ["a'b\"c`d", "a_b_c_d"],
      ["x/*y*/", "x_y"],
    ]);
    for (const raw of ["DROP TABLE x;--", '"; DELETE FROM t; --', "a'b\"c`d"]) {
      assert.match(normalizeIdentifier(raw), /^[\p{L}\p{N}_]+$/u);
    }
  });

  test("double underscores collapse, so a single key never yields the nesting separator", () => {
    expectNames([
      ["a__b", "a_b"],
      ["a___b", "a_b"],
      ["__a", "_a"],
      ["a__", "a"],
      ["__", "_empty"],
      ["a - b", "a_b"],
      ["parent__child__leaf", "parent_child_leaf"],
    ]);
    for (const raw of ["a__b", "x _ y", "__init__", "a..b", "A__B__C", "Ab__Cd"]) {
      assert.equal(normalizeIdentifier(raw).includes("__"), false, raw);
    }
  });

  test("lone surrogates do not survive", () => {
    expectNames([
      ["x\uD800y", "x_y"],
      ["\uD800", "_empty"],
      ["\uDC00abc", "_abc"],
      ["ab\uD83D", "ab"],
    ]);
    assert.equal(normalizeIdentifier("\uD800abc").isWellFormed(), true);
  });

  test("results are stable across repeated calls (cache)", () => {
    assert.equal(normalizeIdentifier("someKeyName"), "some_key_name");
    assert.equal(normalizeIdentifier("someKeyName"), "some_key_name");
  });
});

describe("shortenIdentifier", () => {
  test("names within the limit are returned unchanged", () => {
    assert.equal(shortenIdentifier("abc", 10), "abc");
    assert.equal(shortenIdentifier("a".repeat(63), 63), "a".repeat(63));
    assert.equal(shortenIdentifier("", 5), "");
  });

  test("long ASCII names are cut to exactly the limit with a sha256 suffix", () => {
    const long = "a".repeat(20);
    assert.equal(shortenIdentifier(long, 10), "a_42492da0");
    assert.equal(shortenIdentifier(long, 10), `a_${sha8(long)}`);
    const name = "x".repeat(64);
    const out = shortenIdentifier(name, 63);
    assert.equal(out, `${"x".repeat(54)}_${sha8(name)}`);
    assert.equal(bytes(out), 63);
  });

  test("the limit counts UTF-8 bytes, not characters", () => {
    const e = "é".repeat(20); // 40 bytes, 20 characters
    assert.equal(shortenIdentifier("é".repeat(10), 20), "é".repeat(10));
    const out = shortenIdentifier(e, 20);
    assert.equal(out, `ééééé_${sha8(e)}`);
    assert.equal(out, "ééééé_f5cacffb");
    assert.equal(bytes(out), 19);

    const cjk = "名".repeat(30); // 3 bytes each
    const out2 = shortenIdentifier(cjk, 20);
    assert.equal(out2, `名名名_${sha8(cjk)}`);
    assert.equal(bytes(out2), 18);
  });

  test("surrogate pairs are never cut in half", () => {
    const astral = "𠀀".repeat(30); // 4 bytes, 2 UTF-16 units each
    const out = shortenIdentifier(astral, 20);
    assert.equal(out, `𠀀𠀀_${sha8(astral)}`);
    assert.equal(out.isWellFormed(), true);
    assert.equal(bytes(out), 17);
    const out21 = shortenIdentifier(astral, 21);
    assert.equal(out21, `𠀀𠀀𠀀_${sha8(astral)}`);
    assert.equal(bytes(out21), 21);
  });

  test("the suffix is stable and distinct for different long names with the same prefix", () => {
    const a = `${"p".repeat(70)}_alpha`;
    const b = `${"p".repeat(70)}_beta`;
    const sa = shortenIdentifier(a, 63);
    const sb = shortenIdentifier(b, 63);
    assert.equal(sa, shortenIdentifier(a, 63));
    assert.equal(sa.slice(0, 54), sb.slice(0, 54));
    assert.notEqual(sa, sb);
    assert.equal(sa, `${"p".repeat(54)}_${sha8(a)}`);
    assert.equal(sb, `${"p".repeat(54)}_${sha8(b)}`);
    assert.equal(bytes(sa), 63);
    assert.equal(bytes(sb), 63);
  });

  test("a tiny limit still keeps one head character", () => {
    const name = "abcdefghijklmnop";
    assert.equal(shortenIdentifier(name, 12), `abc_${sha8(name)}`);
    assert.equal(shortenIdentifier(name, 9), `a_${sha8(name)}`);
  });
});

describe("variantColumnName", () => {
  test("appends __v_<type>", () => {
    assert.equal(variantColumnName("price", "text"), "price__v_text");
    assert.equal(variantColumnName("a__b", "double"), "a__b__v_double");
    assert.equal(variantColumnName("created_at", "timestamp"), "created_at__v_timestamp");
  });
});
