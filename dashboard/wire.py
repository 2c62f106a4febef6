"""The stream's compact wire format, for clients that ask for it: /ws/clusters/<name>/?wire=compact

The plain frames (shared/DESIGN.md section 4) spell out every string of every event: its kind,
source, target, summary and data keys, about 330 bytes an event in the classroom cluster, most of
them said before. The compact form carries the same events as numbers and ids:

  {"type": "snapshot", "seq": a, "state": {...}, "strings": [...]}  the plain snapshot, plus the table as of seq a
  {"type": "strings", "seq": a, "strings": [...]}                   on a resume (?after=a): the table as of seq a
  {"type": "packed", "seq": first, "last": last, "t": µs, "reset": [seq, ...], "events": [...], "clock": {...}}
                                                                    the events first..last, contiguous

A packed event is an array: [dt, kind, source, target, summary, shape, value, ...]
  dt       microseconds since the event before it (the frame's first counts from "t"), or [time]
           for a time that is not a whole number of microseconds;
  kind, source, target, summary: a string, which the reader also appends to its table, or the id
           (index) of one in the table, or null;
  shape    the data's keys, as a string (or id) like the others: JSON [[key, ...], "0110"], with
           "1" where the value is a string (sent like kind: a string or an id); other values go as
           they are. Data that is not an object: shape null, then the value.
An event of any other form is sent as the plain object.

Both sides number strings in the order they first appear, so the table is a function of the
event sequence, and every viewer at the same seq holds the same one: a frame is encoded once per
cluster and place, and shared (consumers.shared). Each event is packed once, when the encoder
first reaches it; frames join the packed text. The table is kept bounded by epochs: one starts
(an empty table) when the last reached EPOCH_EVENTS events or EPOCH_STRINGS strings, and a frame
lists in "reset" the seqs at which one starts: the reader empties its table before that event.

Reader (below, and static/js/wire.js) turns compact frames back into the plain ones.
"""

import json
import math
import weakref
from bisect import bisect_right
from collections import deque

EPOCH_EVENTS = 10_000
EPOCH_STRINGS = 4_000
KEEP_EVENTS = 25_000  # packed events kept: more than consumers.RESNAPSHOT_AFTER + MAX_BATCH
EVENT_KEYS = ("seq", "time", "kind", "source", "target", "summary", "data")
US = 1_000_000


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def micros(time: float) -> int:
    """Rounded as JavaScript's Math.round rounds (half up), so both sides agree."""
    return math.floor(time * US + 0.5)


class Epoch:
    def __init__(self, start: int):
        self.start = start  # the seq of its first event
        self.strings: list[str] = []
        self.firsts: list[int] = []  # the seq at which each string first appeared
        self.index: dict[str, int] = {}
        self.events = 0


class Encoder:
    """The packed events of one cluster from seq origin+1 on, and their string tables."""

    def __init__(self, origin: int):
        self.origin = self.floor = self.last = origin  # packed: floor+1 .. last
        self.packed: deque[tuple[str, int]] = deque()  # (text, the µs its dt counts from)
        self.epochs: deque[Epoch] = deque()
        self.base_us = 0

    def can_serve(self, after: int) -> bool:
        return self.floor <= after <= self.last

    def reach(self, cluster, upto: int, batch: list[dict] | None = None) -> bool:
        """Pack the cluster's events up to seq `upto` (from `batch` when it holds them); False
        when some are no longer in its log."""
        while self.last < upto:
            events = batch if batch and batch[0]["seq"] <= self.last + 1 <= batch[-1]["seq"] else cluster.events_since(self.last, upto - self.last)
            if not events or events[0]["seq"] > self.last + 1:
                return False
            for event in events[self.last + 1 - events[0]["seq"]:]:
                if event["seq"] > upto:
                    break
                self._add(event)
        return True

    def strings_at(self, seq: int) -> list[str]:
        """The table a reader holds after the event `seq` (floor <= seq <= last)."""
        starts = [e.start for e in self.epochs]
        at = bisect_right(starts, seq) - 1
        if at < 0:
            return []
        epoch = self.epochs[at]
        return epoch.strings[:bisect_right(epoch.firsts, seq)]

    def frame(self, after: int, upto: int, clock: dict) -> str:
        """The packed frame of events after+1 .. upto (can_serve(after), upto <= last)."""
        texts, base = [], None
        for i in range(after + 1 - (self.floor + 1), upto - self.floor):
            text, from_us = self.packed[i]
            texts.append(text)
            if base is None:
                base = from_us
        resets = [e.start for e in self.epochs if after < e.start <= upto]
        return (f'{{"type":"packed","seq":{after + 1},"last":{upto},"t":{base},"reset":{dumps(resets)},'
                f'"events":[{",".join(texts)}],"clock":{dumps(clock)}}}')

    # --- packing -----------------------------------------------------------------------
    def _add(self, event: dict) -> None:
        seq = event["seq"]
        epoch = self.epochs[-1] if self.epochs else None
        if epoch is None or epoch.events >= EPOCH_EVENTS or len(epoch.strings) >= EPOCH_STRINGS:
            epoch = Epoch(seq)
            self.epochs.append(epoch)
        epoch.events += 1
        from_us = self.base_us
        self.packed.append((self._pack(event, epoch, seq), from_us))
        self.last = seq
        if len(self.packed) > KEEP_EVENTS:
            self.packed.popleft()
            self.floor += 1
            while len(self.epochs) > 1 and self.epochs[1].start <= self.floor:
                self.epochs.popleft()  # every seq it covered is below the floor

    def _pack(self, event: dict, epoch: Epoch, seq: int) -> str:
        if not _regular(event):
            return dumps(event)

        def ref(text):
            if text is None:
                return None
            at = epoch.index.get(text)
            if at is not None:
                return at
            epoch.index[text] = len(epoch.strings)
            epoch.strings.append(text)
            epoch.firsts.append(seq)
            return text

        time = event["time"]
        us = micros(time)
        dt = us - self.base_us if us / US == time else [time]
        self.base_us = us
        out = [dt, ref(event["kind"]), ref(event["source"]), ref(event["target"]), ref(event["summary"])]
        data = event["data"]
        if isinstance(data, dict):
            strings = [isinstance(v, str) for v in data.values()]
            out.append(ref(dumps([list(data), "".join("1" if s else "0" for s in strings)])))
            out += [ref(v) if s else v for v, s in zip(data.values(), strings, strict=True)]
        else:
            out += [None, data]
        return dumps(out)


def _regular(event: dict) -> bool:
    time = event.get("time")
    return (len(event) == len(EVENT_KEYS) and all(k in event for k in EVENT_KEYS)
            and isinstance(time, (int, float)) and not isinstance(time, bool) and math.isfinite(time)
            and isinstance(event["kind"], str) and isinstance(event["summary"], str)
            and all(event[k] is None or isinstance(event[k], str) for k in ("source", "target"))
            and (not isinstance(event["data"], dict) or all(isinstance(k, str) for k in event["data"])))


_encoders: "weakref.WeakKeyDictionary[object, Encoder]" = weakref.WeakKeyDictionary()


def encoder(cluster) -> Encoder | None:
    return _encoders.get(cluster)


def encoder_at(cluster, seq: int) -> Encoder:
    """The cluster's encoder, able to serve from `seq`: a new one when the old cannot, or when it
    is more than KEEP_EVENTS behind (no viewer can still need what it would pack on the way, and
    packing up to the log's 200,000 events would hold the server's loop for seconds)."""
    current = _encoders.get(cluster)
    if current is not None and current.floor <= seq <= current.last + KEEP_EVENTS and current.reach(cluster, seq):
        return current
    fresh = _encoders[cluster] = Encoder(seq)
    return fresh


# --- reading -----------------------------------------------------------------------------
class Reader:
    """Compact frames back to plain ones: the reference for static/js/wire.js (and for scripts)."""

    def __init__(self):
        self.table: list[str] = []

    def read(self, frame: dict) -> dict | None:
        """The plain frame `frame` stands for; None for a table frame (taken in here)."""
        kind = frame.get("type")
        if kind == "strings":
            self.table = list(frame["strings"])
            return None
        if kind == "snapshot" and "strings" in frame:
            self.table = list(frame["strings"])
            return {k: v for k, v in frame.items() if k != "strings"}
        if kind == "packed":
            return {"type": "events", "events": self.unpack(frame), "clock": frame["clock"]}
        return frame

    def unpack(self, frame: dict) -> list[dict]:
        table, resets, us, out = self.table, set(frame["reset"]), frame["t"], []

        def text(value):
            if value is None or isinstance(value, str):
                if value is not None:
                    table.append(value)
                return value
            if not 0 <= value < len(table):
                raise ValueError(f"string id {value} is not in the table ({len(table)} strings)")
            return table[value]

        for offset, packed in enumerate(frame["events"]):
            seq = frame["seq"] + offset
            if seq in resets:
                table.clear()
            if isinstance(packed, dict):
                out.append(packed)
                continue
            if isinstance(packed[0], list):
                time = packed[0][0]
                us = micros(time)
            else:
                us += packed[0]
                time = us / US
            event = {"seq": seq, "time": time, "kind": text(packed[1]), "source": text(packed[2]), "target": text(packed[3]), "summary": text(packed[4])}
            shape = text(packed[5])
            if shape is None:
                event["data"] = packed[6]
            else:
                keys, mask = json.loads(shape)
                event["data"] = {k: text(v) if m == "1" else v for k, m, v in zip(keys, mask, packed[6:], strict=True)}
            out.append(event)
        if out and out[-1]["seq"] != frame["last"]:
            raise ValueError(f"packed frame says it ends at {frame['last']}, its events end at {out[-1]['seq']}")
        return out
