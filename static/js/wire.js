// The stream's compact wire format (dashboard/wire.py says it in full): events as numbers and
// string ids, turned back here into the plain frames the rest of the page reads.
//
//   const reader = new WireReader();
//   const plain = reader.read(frame); // null for a table frame, which it keeps
//
// Strings are numbered in the order they first appear, on both sides; a string sent in full is
// appended to the table, an id points into it. "reset" lists the seqs before which the table
// empties (a new epoch: the server keeps its table bounded).

const US = 1_000_000;

/** Microseconds, rounded as dashboard/wire.py's micros() rounds. */
const micros = (time) => Math.floor(time * US + 0.5);

export class WireReader {
  constructor() {
    this.table = [];
    this.shapes = new Map(); // a shape's text -> [keys, mask], parsed once
  }

  /** The plain frame `frame` stands for; null for a table frame. Throws on a frame that does not
   * fit the table it builds on (the stream then asks for a fresh snapshot). */
  read(frame) {
    switch (frame.type) {
      case "strings":
        this.table = [...frame.strings];
        return null;
      case "snapshot":
        if (Array.isArray(frame.strings)) {
          this.table = [...frame.strings];
          delete frame.strings;
        }
        return frame;
      case "packed":
        return { type: "events", events: this.unpack(frame), clock: frame.clock };
      default:
        return frame;
    }
  }

  unpack(frame) {
    const table = this.table;
    const resets = new Set(frame.reset);
    const text = (value) => {
      if (value === null || typeof value === "string") {
        if (value !== null) table.push(value);
        return value;
      }
      if (!(value >= 0 && value < table.length)) throw new Error(`string id ${value} is not in the table (${table.length} strings)`);
      return table[value];
    };
    let us = frame.t;
    const events = [];
    frame.events.forEach((packed, offset) => {
      const seq = frame.seq + offset;
      if (resets.has(seq)) table.length = 0;
      if (!Array.isArray(packed)) {
        events.push(packed);
        return;
      }
      let time;
      if (Array.isArray(packed[0])) {
        time = packed[0][0];
        us = micros(time);
      } else {
        us += packed[0];
        time = us / US;
      }
      const event = { seq, time, kind: text(packed[1]), source: text(packed[2]), target: text(packed[3]), summary: text(packed[4]) };
      const shape = text(packed[5]);
      if (shape === null) {
        event.data = packed[6];
      } else {
        let parsed = this.shapes.get(shape);
        if (!parsed) {
          parsed = JSON.parse(shape);
          this.shapes.set(shape, parsed);
          if (this.shapes.size > 4096) this.shapes.delete(this.shapes.keys().next().value);
        }
        const [keys, mask] = parsed;
        const data = {};
        keys.forEach((key, i) => {
          // defineProperty: a key "__proto__" stays data, as JSON.parse leaves it
          Object.defineProperty(data, key, { value: mask[i] === "1" ? text(packed[6 + i]) : packed[6 + i], enumerable: true, writable: true, configurable: true });
        });
        event.data = data;
      }
      events.push(event);
    });
    if (events.length && events[events.length - 1].seq !== frame.last) throw new Error(`packed frame says it ends at ${frame.last}, its events end at ${events[events.length - 1].seq}`);
    return events;
  }
}
