import { FerryError, type FerryErrorOptions } from "../util/errors.js";

/** An HTTP call that failed: `status` is 0 for network errors and timeouts. */
export class HttpError extends FerryError {
  override readonly code = "http";
  readonly status: number;
  readonly url: string;

  constructor(message: string, status: number, url: string, options: FerryErrorOptions = {}) {
    super(message, options);
    this.status = status;
    this.url = url;
  }
}
