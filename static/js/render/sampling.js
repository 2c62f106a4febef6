// When more messages fly than eyes can follow, messages.js draws a sample and says the rest in
// words: "1,240 watch events/s · 3,100 messages/s · 1 in 9 drawn".
//
//   const sampler = createSampler();
//   sampler.observe(model.messages.values(), now);  // every frame: counts each message once
//   visible = sampler.sample(visible);               // at most MAX_DRAWN dots (1 in k, by id)
//   sampler.summary()                                // the words, or "" while every dot is drawn
//
// Rates are per second of wall time (what a viewer sees), over the last WINDOW_MS. The sample is
// 1 in k by message id, k chosen at most once a second, so a dot that is drawn stays drawn for
// its whole flight instead of blinking as the count moves.

import { gettext, interpolate } from "../i18n.js";

export const MAX_DRAWN = 150; // dots at once before sampling starts
const WINDOW_MS = 1000;
const fmt = (n) => Math.round(n).toLocaleString("en");

/** What a message counts as, for the rates. */
export function rateCategory(kind) {
  const k = String(kind ?? "");
  if (k === "api.watch_event") return "watch";
  if (k.startsWith("api.")) return "api";
  return "other";
}

function hashId(id) {
  const s = String(id);
  let h = 2166136261;
  for (let i = 0; i < s.length; i += 1) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function createSampler({ maxDrawn = MAX_DRAWN } = {}) {
  const counted = new WeakSet();
  let tally = { watch: 0, api: 0, other: 0 };
  let since = null;
  let rates = { watch: 0, api: 0, other: 0 };
  let every = 1; // draw 1 in `every`
  let chosenAt = -Infinity;
  let shown = 0;
  let total = 0;

  return {
    observe(messages, now) {
      if (since === null) since = now;
      for (const m of messages) {
        if (counted.has(m)) continue;
        counted.add(m);
        tally[rateCategory(m.kind)] += 1;
      }
      if (now - since >= WINDOW_MS) {
        const seconds = (now - since) / 1000;
        rates = { watch: tally.watch / seconds, api: tally.api / seconds, other: tally.other / seconds };
        tally = { watch: 0, api: 0, other: 0 };
        since = now;
      }
    },
    sample(visible, now = performance.now()) {
      total = visible.length;
      if (now - chosenAt >= WINDOW_MS || visible.length > maxDrawn * every * 2) {
        chosenAt = now;
        every = Math.max(1, Math.ceil(visible.length / maxDrawn));
      }
      const out = every === 1 ? visible : visible.filter((v) => hashId(v.m.id) % every === 0);
      shown = out.length;
      return out;
    },
    /** The rates and the sample in words, or "" while every message is drawn and few fly. */
    summary() {
      const all = rates.watch + rates.api + rates.other;
      if (every === 1 && total <= maxDrawn) return "";
      const parts = [];
      if (rates.watch >= 1) parts.push(interpolate(gettext("%(n)s watch events/s"), { n: fmt(rates.watch) }));
      if (rates.api >= 1) parts.push(interpolate(gettext("%(n)s API requests and responses/s"), { n: fmt(rates.api) }));
      parts.push(interpolate(gettext("%(n)s messages/s in all"), { n: fmt(all) }));
      parts.push(interpolate(gettext("%(shown)s of %(total)s in flight drawn (1 in %(k)s)"), { shown: fmt(shown), total: fmt(total), k: every }));
      return parts.join(" · ");
    },
    get every() {
      return every;
    },
  };
}
