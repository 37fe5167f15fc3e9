import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import type { DataType } from "../schema/types.js";
import { DataError } from "../util/errors.js";
import { sqlTimestampToIso, toInt8 } from "../util/sql-text.js";

/*
 * The `typed_csv` load-file format (see file-format.ts): flat records whose columns and types are declared beside
 * the file, so a destination can read it as it is. RFC 4180 with `,` and `"` quoting (`""` inside quotes), no header,
 * UTF-8, `\n` line ends (a file whose first line ends with `\r\n` is parsed by ferry instead of read as it is, which is
 * slower); an empty unquoted field is NULL and `""` is an empty string. Values are in canonical text per column type:
 * - `bigint` decimal digits; `double` decimal or exponent notation, `NaN`, `Infinity`, `-Infinity`; `decimal`
 *   digits with an optional sign and point;
 * - `bool` `t`/`f` or `true`/`false`; `text` any text; `json` JSON text; `binary` base64 without line breaks;
 * - `timestamp` `YYYY-MM-DD HH:MM:SS[.ffffff]+00` (UTC), `infinity` or `-infinity`; `date` `YYYY-MM-DD` (years 1 to
 *   9999); `time` `HH:MM:SS[.ffffff]`.
 */

/**
 * The longest record (all its fields, quoting included) a typed CSV file may hold. Destinations size their read
 * buffers by it; a source with longer records hands them over as records instead.
 */
export const TYPED_CSV_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/**
 * The error for typed CSV files of `table` that hold other than the records their resource declared (a truncated
 * or padded file), wherever it is found: parsing a file back, or counting a destination's insert.
 *
 * @example
 * throw declaredRowsError("orders", 3, 5, { files: 1 }); // 'typed CSV file of table "orders" holds 3 records, ...'
 */
export function declaredRowsError(
  table: string,
  found: number,
  declared: number,
  opts: { files: number; resource?: string | undefined },
): DataError {
  const one = opts.files === 1;
  return new DataError(
    `typed CSV ${one ? "file" : `${opts.files} files`} of table "${table}" ${one ? "holds" : "hold"} ${found} ` +
      `records, but ${one ? "its resource" : "their resources"} declared ${declared}`,
    { fields: { table, ...(opts.resource !== undefined ? { resource: opts.resource } : {}) } },
  );
}

/**
 * One column of a typed CSV file: the record key it stands for (named like a record's key, so ferry's naming
 * applies) and the ferry type of its values.
 *
 * @example
 * { name: "amount", type: "decimal", precision: 12, scale: 2 }
 */
export interface CsvColumn {
  name: string;
  type: DataType;
  precision?: number;
  scale?: number;
}

/**
 * How a typed CSV load file maps onto its table: the table's columns in file order, the columns every row gets the
 * same value in (the load id), and the columns that get a fresh unique id per row (`_ferry_id`). Columns of the
 * table in none of these are NULL.
 *
 * @example
 * { columns: ["id", "name"], constants: { _ferry_load_id: "1732186.abc" }, uniqueIds: ["_ferry_id"] }
 */
export interface TypedCsvLayout {
  columns: string[];
  constants: Record<string, string>;
  uniqueIds: string[];
}

type Convert = (s: string) => unknown;

/** Canonical text -> the value a resource would have yielded for it. */
const CONVERT: Record<DataType, Convert> = {
  text: (s) => s,
  bigint: toInt8,
  double: (s) => Number(s),
  decimal: (s) => s,
  bool: (s) => s === "t" || s === "true",
  json: (s) => JSON.parse(s),
  binary: (s) => Buffer.from(s, "base64"),
  // UTC text becomes ISO 8601 (`...T...Z`); infinity stays as it is.
  timestamp: (s) => sqlTimestampToIso(s, true),
  date: (s) => s,
  time: (s) => s,
};

/**
 * Reads a typed CSV file back into records keyed by column name (NULL fields are null), for tables whose rows must
 * go through normalization after all. Streams: memory holds one chunk and one record.
 *
 * @example
 * for await (const rec of readTypedCsv("orders.csv", [{ name: "id", type: "bigint" }])) console.log(rec.id);
 */
export async function* readTypedCsv(
  path: string,
  columns: readonly CsvColumn[],
): AsyncGenerator<Record<string, unknown>> {
  const convert = columns.map((c) => CONVERT[c.type]);
  const parser = new CsvParser();
  const decoder = new StringDecoder("utf8");
  let line = 1;
  const toRecord = (fields: (string | null)[]): Record<string, unknown> => {
    if (fields.length !== columns.length) {
      throw new Error(
        `typed CSV ${path}, record ${line}: ${fields.length} fields, but ${columns.length} columns are declared`,
      );
    }
    const rec: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const f = fields[i] as string | null;
      rec[(columns[i] as CsvColumn).name] = f === null ? null : (convert[i] as Convert)(f);
    }
    line++;
    return rec;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    for (const fields of parser.push(decoder.write(chunk as Buffer))) yield toRecord(fields);
  }
  for (const fields of parser.end(decoder.end())) yield toRecord(fields);
}

/** An RFC 4180 parser fed text in pieces; yields each complete record's fields (null for empty unquoted ones). */
export class CsvParser {
  #field = "";
  #quoted = false;
  /** Inside a quoted field. */
  #inQuotes = false;
  /** A quote was just read inside a quoted field: the next character says whether it closes it. */
  #quotePending = false;
  #fields: (string | null)[] = [];
  #any = false;

  /** A "\r" that ended the last piece: held back until we know whether a "\n" follows (CRLF). */
  #carry = "";

  push(piece: string): (string | null)[][] {
    let text = this.#carry + piece;
    this.#carry = "";
    if (text.endsWith("\r")) {
      this.#carry = "\r";
      text = text.slice(0, -1);
    }
    const out: (string | null)[][] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (this.#inQuotes) {
        if (this.#quotePending) {
          this.#quotePending = false;
          if (ch === 34) {
            this.#field += '"';
            start = i + 1;
            continue;
          }
          this.#inQuotes = false;
        } else {
          if (ch === 34) {
            this.#field += text.slice(start, i);
            this.#quotePending = true;
            start = i + 1;
          }
          continue;
        }
      }
      if (ch === 44 || ch === 10) {
        const tail = text.slice(start, i);
        // A line break's "\r" (CRLF) ends the record, after a quoted field's closing quote too.
        this.#endField(ch === 10 && tail.endsWith("\r") ? tail.slice(0, -1) : tail);
        start = i + 1;
        if (ch === 10) out.push(this.#endRecord());
      } else if (ch === 34 && !this.#any && i === start && this.#field === "") {
        this.#inQuotes = true;
        this.#quoted = true;
        this.#any = true;
        start = i + 1;
      } else {
        this.#any = true;
      }
    }
    this.#field += text.slice(start);
    return out;
  }

  /** The last record when the text does not end with a line break. */
  end(rest: string): (string | null)[][] {
    const out = this.push(rest);
    // A final lone "\r" is the last line's end.
    this.#carry = "";
    if (this.#inQuotes && !this.#quotePending) throw new Error("typed CSV ends inside a quoted field");
    this.#inQuotes = false;
    this.#quotePending = false;
    if (this.#any || this.#fields.length > 0 || this.#field !== "") {
      this.#endField("");
      out.push(this.#endRecord());
    }
    return out;
  }

  #endField(tail: string): void {
    const v = this.#field + tail;
    this.#fields.push(this.#quoted || v !== "" ? v : null);
    this.#field = "";
    this.#quoted = false;
    this.#any = false;
  }

  #endRecord(): (string | null)[] {
    const f = this.#fields;
    this.#fields = [];
    return f;
  }
}
