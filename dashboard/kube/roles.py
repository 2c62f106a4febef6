"""Classroom roles on the Kubernetes API (dashboard/classroom/access.py has the roles themselves).

On an open cluster nothing changes: anyone may do anything, over http or https, and a bearer
token goes on to the simulated API server (whose RBAC may know it). On a shared or sandbox
cluster the bearer token is a Clusterscope key instead:

    reads (GET, HEAD: get, list, watch, logs, discovery, OpenAPI)   anyone, no token needed
    writes (POST, PUT, PATCH)                                        a key that may "write"
    deletions and evictions (DELETE, POST .../eviction)               a key that may do "destructive"

    a token over plain http   403 Forbidden: use the https endpoint (the key may have been read)
    a write without a token   401 Unauthorized (kubectl: "You must be logged in to the server")
    a token without the role  403 Forbidden, naming the role the key has
    deletions on a shared cluster past limits "destructive_per_minute"   429 with Retry-After

Like kube-apiserver, this is decided from the method and path before the body is read. The key
is then dropped from the request, so it is never recorded with the cluster's commands nor shown
in the request inspector; the simulated API server sees an anonymous request.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from .. import limits
from ..classroom import access

READ_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Refusal:
    code: int
    message: str
    headers: dict


def action(method: str, path: str) -> str:
    """The access action of a request: read, write or destructive."""
    if method in READ_METHODS:
        return "read"
    if method == "DELETE" or (method == "POST" and path.rstrip("/").endswith("/eviction")):
        return "destructive"
    return "write"


def guarded(cluster: str) -> bool:
    """Whether the classroom roles apply to this cluster's Kubernetes API (shared or sandbox)."""
    return access.kind(cluster) != access.OPEN


def https_base(request) -> str:
    """Where this server speaks https: the request's own origin when it came over TLS, else
    the same host on settings.TLS_PORT (manage.py serve's second listener)."""
    if request.is_secure():
        return f"https://{request.get_host()}"
    host = urlsplit(f"//{request.get_host()}").hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"https://{host}:{settings.TLS_PORT}"


def refusal(request, cluster: str, path: str, token: str | None) -> Refusal | None:
    """Why this request may not go on to the simulation, or None. Only for guarded clusters."""
    if token is not None and not request.is_secure():
        return Refusal(403, f"a bearer token was sent over plain http, where anyone on the network can read it; cluster {cluster} "
                            f"takes keys over https only: {_https_address(request, cluster)}", {})
    what = action(request.method, path)
    try:
        access.check(cluster, token, what)
    except access.Forbidden as exc:
        if token is None:
            # "Unauthorized" first, as kube-apiserver words it: kubectl shows some 401s by message alone
            return Refusal(401, f"Unauthorized: {_anyone_may_read(cluster)}, {_how(request, cluster)}", {"WWW-Authenticate": 'Bearer realm="clusterscope"'})
        role = access.role(cluster, token)
        return Refusal(403, f"{exc.message}; the token sent is {KEY_NAMES.get(role, role)} (role {role}), which may not {_verb(what)}", {})
    if what == "destructive" and access.kind(cluster) == access.SHARED:
        try:
            limits.destructive_action(cluster)
        except limits.RateLimited as exc:
            return Refusal(429, exc.message, {"Retry-After": exc.retry_after_header})
    return None


KEY_NAMES = {
    access.ROLE_PRESENTER: "the presenter's key",
    access.ROLE_CONTROLLER: "the key of the viewer given control",
    access.ROLE_AUDIENCE: "a viewer's key, without control",
    access.ROLE_OWNER: "the key that forked this sandbox",
    access.ROLE_ANYONE: "a key this cluster does not know",
}


def _anyone_may_read(cluster: str) -> str:
    room = access.room(cluster)
    if room is not None:
        return (f"cluster {cluster} is shared by classroom {room.code}: anyone may read it; to change it, "
                "send the presenter's key, or that of the viewer given control")
    return f"cluster {cluster} is a sandbox: anyone may read it; to change it, send the key that forked it"


def _how(request, cluster: str) -> str:
    if not _serves_https(request):
        return f"as a bearer token over https ({_https_address(request, cluster)})"
    return (f"as a bearer token over https: kubectl --server={https_base(request)}/k8s/{cluster} "
            "--certificate-authority=ca.pem --token=<key> (ca.pem from /api/tls/ca.pem)")


def _serves_https(request) -> bool:
    return request.is_secure() or bool(settings.TLS_PORT)


def _https_address(request, cluster: str) -> str:
    if not _serves_https(request):
        return "this server was started without https (manage.py serve --tls-port 0): start it with a TLS port"
    return f"{https_base(request)}/k8s/{cluster} (its CA: /api/tls/ca.pem)"


def _verb(what: str) -> str:
    return "delete or evict" if what == "destructive" else "write"
