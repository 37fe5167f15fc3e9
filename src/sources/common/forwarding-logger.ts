import { type Logger, silentLogger } from "../../util/log.js";

/**
 * A logger for a client shared by a source's resources: it writes through the logger of the resource that ran
 * last (`target.current = ctx.log`), for what the client logs outside a request's own logger.
 *
 * @example
 * const { log, target } = forwardingLogger(); const http = new HttpClient({ log }); // in a resource: target.current = ctx.log
 */
export function forwardingLogger(): { log: Logger; target: { current: Logger } } {
  const target = { current: silentLogger };
  return {
    target,
    log: {
      debug: (m) => target.current.debug(m),
      info: (m) => target.current.info(m),
      warn: (m) => target.current.warn(m),
      error: (m) => target.current.error(m),
    },
  };
}
