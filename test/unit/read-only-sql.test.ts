// The dashboard SQL box's statement check: one reading statement passes; writes, several statements and session
// changes are refused with the word that made it refuse. Strings, comments and quoted identifiers are not read as
// keywords.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkReadOnly, READ_ONLY_REFUSAL } from "../../src/ui/read-only-sql.js";

test("reading statements pass and give their first word", () => {
  const ok: [string, string][] = [
    ["select count(*) from issues", "select"],
    ["  SELECT 1;  ", "select"],
    ["with x as (select 1 as a) select a from x", "with"],
    ["select 'drop table issues; delete' as s", "select"],
    ['select "update", "set", set_once from events', "select"],
    ["select 1 -- delete from issues\n", "select"],
    ["/* insert */ select 2", "select"],
    ["select $$ insert $$ as t", "select"],
    ["show tables", "show"],
    ["describe issues", "describe"],
    ["explain select 1", "explain"],
    ["values (1), (2)", "values"],
  ];
  for (const [sql, first] of ok) assert.equal(checkReadOnly(sql), first, sql);
});

test("writes, several statements and other statements are refused with what refused them", () => {
  const refused: [string, string][] = [
    ["delete from issues", `refused: DELETE is not a reading statement; ${READ_ONLY_REFUSAL}`],
    ["drop table issues", `refused: DROP is not a reading statement; ${READ_ONLY_REFUSAL}`],
    ["set search_path = x", `refused: SET is not a reading statement; ${READ_ONLY_REFUSAL}`],
    ["attach 'x.db' as x", `refused: ATTACH is not a reading statement; ${READ_ONLY_REFUSAL}`],
    [
      "with d as (delete from t returning *) select * from d",
      `refused: DELETE writes or changes the session; ${READ_ONLY_REFUSAL}`,
    ],
    ["select * into t2 from t", `refused: INTO writes or changes the session; ${READ_ONLY_REFUSAL}`],
    ["select 1; select 2", `refused: 2 statements; ${READ_ONLY_REFUSAL}, one at a time`],
    ["select 1; drop table t", `refused: 2 statements; ${READ_ONLY_REFUSAL}, one at a time`],
    ["'abc'", `refused: this statement is not a reading statement; ${READ_ONLY_REFUSAL}`],
  ];
  for (const [sql, message] of refused)
    assert.throws(() => checkReadOnly(sql), { message, code: "sql_refused" }, sql);
  assert.throws(() => checkReadOnly("  -- nothing\n ; "), { message: "the SQL box is empty" });
});
