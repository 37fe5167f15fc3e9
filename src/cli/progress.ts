import type { ProgressEvent } from "../pipeline/load-info.js";

interface Counter {
  stage: string;
  count: number;
  unit: string;
  started: number;
  updated: number;
}

const fmt = (n: number) => n.toLocaleString("en-US");

/**
 * Shows progress: on a TTY a live block per resource/table (count, rate, stage), redrawn a few times a second;
 * otherwise one line per finished stage, so logs stay readable.
 */
export class ProgressDisplay {
  readonly #out: NodeJS.WriteStream;
  readonly #live: boolean;
  readonly #counters = new Map<string, Counter>();
  readonly #stageStart = new Map<string, number>();
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;
  #stage = "starting";

  constructor(out: NodeJS.WriteStream = process.stderr, live = Boolean(out.isTTY)) {
    this.#out = out;
    this.#live = live;
    if (live) this.#timer = setInterval(() => this.#draw(), 200);
  }

  readonly handle = (e: ProgressEvent): void => {
    const now = Date.now();
    if ("event" in e) {
      if (e.event === "start") {
        this.#stage = e.stage;
        this.#stageStart.set(e.stage, now);
        if (e.detail && !this.#live) this.#line(`${e.stage}: ${e.detail}`);
      } else if (e.event === "end") {
        this.#stageDone(e.stage, now, e.loadId);
      }
      return;
    }
    if (e.stage === "extract") this.#count(`extract ${e.resource}`, "extract", e.items, "items", now, true);
    else if (e.stage === "normalize")
      this.#count(`normalize ${e.table}`, "normalize", e.items, "items", now, true);
    else if (e.stage === "load" && e.state === "completed")
      this.#count(`load ${e.table}`, "load", 1, "files", now, false);
  };

  #count(key: string, stage: string, n: number, unit: string, now: number, absolute: boolean): void {
    // Rates count from the start of the stage, not from the first progress event.
    const c = this.#counters.get(key) ?? {
      stage,
      count: 0,
      unit,
      started: this.#stageStart.get(stage) ?? now,
      updated: now,
    };
    c.count = absolute ? n : c.count + n;
    c.updated = now;
    this.#counters.set(key, c);
  }

  #stageDone(stage: string, now: number, loadId?: string): void {
    if (this.#live) return;
    const started = this.#stageStart.get(stage) ?? now;
    const parts = [...this.#counters.entries()]
      .filter(([, c]) => c.stage === stage)
      .map(
        ([k, c]) =>
          `${k.slice(stage.length + 1)} ${fmt(c.count)} ${c.unit === "files" ? (c.count === 1 ? "file" : "files") : c.unit}`,
      );
    this.#line(
      `${stage} done in ${((now - started) / 1000).toFixed(2)}s${loadId ? ` (load ${loadId})` : ""}${parts.length ? `: ${parts.join(", ")}` : ""}`,
    );
  }

  #line(text: string): void {
    this.#out.write(`ferry ${text}\n`);
  }

  #draw(): void {
    const lines = [`ferry ${this.#stage}...`];
    for (const [key, c] of this.#counters) {
      const secs = Math.max((c.updated - c.started) / 1000, 0.001);
      const rate = c.unit === "items" ? `  ${fmt(Math.round(c.count / secs))}/s` : "";
      lines.push(`  ${key.padEnd(40)} ${fmt(c.count).padStart(12)} ${c.unit}${rate}`);
    }
    if (this.#drawn > 0) this.#out.write(`\x1b[${this.#drawn}A`);
    for (const l of lines) this.#out.write(`\x1b[2K${l}\n`);
    this.#drawn = lines.length;
  }

  /** Draws the final state once and stops redrawing. */
  stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw();
  }
}
