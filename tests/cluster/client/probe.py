"""A component that owns an ApiClient and records what its informers and queues do."""

from cluster.client import ApiClient, key_of, split_key
from cluster.kernel import Component


class Probe(Component):
    kind = "probe"

    def __init__(self, sim, name="probe", **client_options):
        super().__init__(sim, name)
        self.api = ApiClient(self, user={"name": "system:probe"}, **client_options)
        self.seen = []  # (event, key, rv) for every handler call
        self.synced_keys = []  # keys in the order sync saw them
        self.answers = {}  # request id -> response
        self.fail = {}  # key -> how many more syncs of it should fail
        self.hold = set()  # keys whose sync sends a (slow) request

    # kernel entries
    def on_start(self):
        self.api.start()

    def on_message(self, msg):
        self.api.handle_message(msg)

    def on_timer(self, tag, data):
        self.api.handle_timer(tag, data)

    def on_undeliverable(self, msg, reason):
        self.api.handle_undeliverable(msg, reason)

    def on_crash(self):
        self.api.stop()

    def on_restart(self):
        self.api.start()

    # handlers and syncs, by name
    def on_object(self, event, obj, old):
        self.seen.append((event, key_of(obj), obj["metadata"].get("resourceVersion")))

    def enqueue(self, event, obj, old):
        self.api.queues["q"].add(key_of(obj))

    def sync(self, key):
        self.synced_keys.append((self.now, key))
        if self.fail.get(key):
            self.fail[key] -= 1
            return False
        if key in self.hold:
            namespace, name = split_key(key)
            self.api.request("get", "configmaps", namespace=namespace, name=name, then="got", context=key, ok=(404,))
        return True

    def got(self, response, context):
        self.answers[context] = response["code"]

    def answer(self, response, context):
        self.answers[context] = response
