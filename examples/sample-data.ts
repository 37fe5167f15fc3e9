/**
 * Bundled sample data for the quickstart: a small shop with customers, orders (nested line items, tags,
 * addresses) and product events. Generated deterministically, so every run yields the same records.
 */
export interface Rng {
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: a tiny seeded PRNG, enough for repeatable sample data. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
  };
}

const FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Linus", "Guido", "Anders"];
const LAST = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Dijkstra",
  "Liskov",
  "Knuth",
  "Hamilton",
  "Torvalds",
  "van Rossum",
  "Hejlsberg",
];
const CITIES = [
  { city: "London", country: "GB" },
  { city: "Zürich", country: "CH" },
  { city: "São Paulo", country: "BR" },
  { city: "Kraków", country: "PL" },
  { city: "Austin", country: "US" },
] as const;
const PRODUCTS = ["keyboard", "mouse", "monitor", "laptop stand", "usb-c hub", "headphones"] as const;
const TAGS = ["vip", "newsletter", "b2b", "returning", "gift"] as const;

const BASE = Date.UTC(2024, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

export function* customers(count = 1000, seed = 7) {
  const r = rng(seed);
  for (let id = 1; id <= count; id++) {
    const place = r.pick(CITIES);
    yield {
      id,
      firstName: r.pick(FIRST),
      lastName: r.pick(LAST),
      email: `customer${id}@example.com`,
      createdAt: iso(BASE + id * 3_600_000),
      address: {
        street: `${r.int(1, 200)} Main St`,
        ...place,
        geo: { lat: r.int(-90, 90) + r.next(), lon: r.int(-180, 180) + r.next() },
      },
      tags: Array.from({ length: r.int(0, 3) }, () => r.pick(TAGS)),
      marketingOptIn: r.next() > 0.5,
    };
  }
}

export function* orders(count = 3000, customerCount = 1000, seed = 11) {
  const r = rng(seed);
  for (let id = 1; id <= count; id++) {
    const lines = Array.from({ length: r.int(1, 4) }, (_, i) => ({
      line: i + 1,
      product: r.pick(PRODUCTS),
      quantity: r.int(1, 5),
      unitPrice: Math.round(r.next() * 20000) / 100,
    }));
    yield {
      id,
      customerId: r.int(1, customerCount),
      status: r.pick(["paid", "shipped", "refunded"] as const),
      updatedAt: iso(BASE + id * 600_000),
      total: Math.round(lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0) * 100) / 100,
      lines,
      shipping: {
        method: r.pick(["post", "courier"] as const),
        trackingCodes: [`TR${id}A`, ...(r.next() > 0.7 ? [`TR${id}B`] : [])],
      },
    };
  }
}
