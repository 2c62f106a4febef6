"""The image registry the simulated nodes pull from: which images exist and their layers.

An image is a list of layers; base layers are shared between images (nginx, httpd,
redis and python all start from the same Debian layer; every clusterscope/* image starts
from Alpine and a shared runtime layer), so a node that has one of them pulls only the
missing layers of the next. Digests are sha256 of a stable name: the same everywhere, in
every run.

    resolve("nginx")             -> {"ref": "docker.io/library/nginx:latest", "repo": "nginx", "tag": "latest",
                                     "id": "sha256:…", "digest": "sha256:…", "layers": [{"digest", "size", "name"}, …]}
    resolve("nginx:doesnotexist") -> {"error": "not found", "message": "…"}      (a tag the registry lacks)
    resolve("ngnix")             -> {"error": "denied", "message": "…"}         (no such repository)

Known repositories accept any tag except ones that say they do not exist (containing
"missing", "nonexist", "doesnotexist", "notfound", "invalid", "bogus"), so `nginx:1.25.3`
works and `nginx:doesnotexist` gives ErrImagePull. Unknown repositories and
`clusterscope/missing` are not found: pull access denied, as Docker Hub answers.

The workload an image runs (web server, batch job, crasher…) is chosen in workloads.py.
"""

import hashlib

KB = 1000
MB = 1000 * 1000

# Shared base layers: name -> compressed size in bytes.
BASE_LAYERS = {
    "debian-bookworm-slim": 28_230 * KB,
    "alpine-3.20": 3_620 * KB,
    "busybox-1.36": 2_150 * KB,
    "ubuntu-24.04": 29_750 * KB,
    "pause": 320 * KB,
    "clusterscope-runtime": 7_900 * KB,
    "distroless-static": 780 * KB,
}

# repo -> (default tag, [layers]); a layer is a base layer name, or (name, size) of a layer
# that belongs to this repository (its digest depends on the tag: 1.26 and 1.27 differ).
CATALOGUE = {
    "docker.io/library/nginx": ("1.27.3", ["debian-bookworm-slim", ("nginx", 39_480 * KB), ("nginx-config", 4 * KB)]),
    "docker.io/library/httpd": ("2.4.62", ["debian-bookworm-slim", ("httpd-deps", 3_210 * KB), ("httpd", 25_100 * KB)]),
    "docker.io/library/redis": ("7.4.1", ["debian-bookworm-slim", ("redis-deps", 4_120 * KB), ("redis", 12_400 * KB)]),
    "docker.io/library/memcached": ("1.6.32", ["debian-bookworm-slim", ("memcached", 3_080 * KB)]),
    "docker.io/library/python": ("3.13.1", ["debian-bookworm-slim", ("python-deps", 24_050 * KB), ("python", 64_300 * KB)]),
    "docker.io/library/perl": ("5.40.0", ["debian-bookworm-slim", ("perl-deps", 49_600 * KB), ("perl", 20_100 * KB)]),
    "docker.io/library/postgres": ("17.2", ["debian-bookworm-slim", ("postgres-deps", 11_300 * KB), ("postgres", 101_200 * KB)]),
    "docker.io/library/busybox": ("1.36.1", ["busybox-1.36"]),
    "docker.io/library/alpine": ("3.20.3", ["alpine-3.20"]),
    "docker.io/library/ubuntu": ("24.04", ["ubuntu-24.04"]),
    "docker.io/hashicorp/http-echo": ("1.0.0", ["distroless-static", ("http-echo", 3_400 * KB)]),
    "registry.k8s.io/pause": ("3.10", ["pause"]),
    "registry.k8s.io/e2e-test-images/agnhost": ("2.52", ["alpine-3.20", ("agnhost", 21_700 * KB)]),
    "docker.io/clusterscope/web": ("1.0", ["alpine-3.20", "clusterscope-runtime", ("web", 1_240 * KB)]),
    "docker.io/clusterscope/batch": ("1.0", ["alpine-3.20", "clusterscope-runtime", ("batch", 610 * KB)]),
    "docker.io/clusterscope/crasher": ("1.0", ["alpine-3.20", "clusterscope-runtime", ("crasher", 420 * KB)]),
    "docker.io/clusterscope/slow-start": ("1.0", ["alpine-3.20", "clusterscope-runtime", ("slow-start", 1_190 * KB)]),
    "docker.io/clusterscope/memhog": ("1.0", ["alpine-3.20", "clusterscope-runtime", ("memhog", 380 * KB)]),
}

# The sandbox ("pause") image every pod needs; containerd pulls it on the first RunPodSandbox.
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"

MISSING_TAG_WORDS = ("missing", "nonexist", "doesnotexist", "notfound", "not-found", "invalid", "bogus")

# Unpacked size on disk is larger than the compressed download.
UNPACK_FACTOR_PERCENT = 250


def sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def parse_reference(image: str) -> dict | None:
    """Split and normalize an image reference like containerd: "nginx" ->
    docker.io/library/nginx:latest. None when it is not a valid reference."""
    if not isinstance(image, str) or not image or len(image) > 255 or image != image.strip() or any(c.isspace() for c in image):
        return None
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
        if not digest.startswith("sha256:") or len(digest) != 71:
            return None
    name, tag = image, None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not tag or len(tag) > 128:
            return None
    if not name or name != name.lower() or name.startswith("/") or name.endswith("/") or "//" in name:
        return None
    parts = name.split("/")
    if len(parts) == 1:
        repo = f"docker.io/library/{name}"
    elif "." in parts[0] or ":" in parts[0] or parts[0] == "localhost":
        repo = name
    else:
        repo = f"docker.io/{name}"
    tag = tag or (None if digest else "latest")
    ref = repo + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    return {"repo": repo, "tag": tag, "digest": digest, "ref": ref}


def short_name(ref: str) -> str:
    """docker.io/library/nginx:1.27 -> nginx:1.27 (how people write it)."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def repo_name(repo: str) -> str:
    """The last path element: docker.io/clusterscope/web -> web."""
    return repo.rsplit("/", 1)[-1]


def resolve(image: str) -> dict:
    """What the registry answers for a pull of `image` (see the module doc)."""
    parsed = parse_reference(image)
    if parsed is None:
        return {"error": "invalid", "message": f'failed to pull and unpack image "{image}": invalid reference format'}
    repo, ref = parsed["repo"], parsed["ref"]
    entry = CATALOGUE.get(repo)
    if entry is None:
        return {"error": "denied", "ref": ref, "message": (
            f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": pull access denied, repository does not exist '
            "or may require authorization: server message: insufficient_scope: authorization failed")}
    default_tag, layer_plan = entry
    tag = parsed["tag"]
    if tag is not None and any(word in tag.lower() for word in MISSING_TAG_WORDS):
        return {"error": "not found", "ref": ref, "message": f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": {ref}: not found'}
    version = default_tag if tag in (None, "latest") else tag
    layers = []
    for item in layer_plan:
        if isinstance(item, str):
            layers.append({"name": item, "digest": sha256(f"layer:{item}"), "size": BASE_LAYERS[item]})
        else:
            lname, size = item
            layers.append({"name": lname, "digest": sha256(f"layer:{repo}:{version}:{lname}"), "size": size})
    manifest = sha256(f"manifest:{repo}:{version}")
    if parsed["digest"] is not None and parsed["digest"] != manifest:
        return {"error": "not found", "ref": ref, "message": f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": {ref}: not found'}
    return {
        "ref": ref,
        "repo": repo,
        "tag": tag,
        "version": version,
        "id": sha256(f"config:{repo}:{version}"),
        "digest": manifest,
        "repo_digest": f"{repo}@{manifest}",
        "layers": layers,
        "size": sum(layer["size"] for layer in layers),
    }


def unpacked_size(compressed: int) -> int:
    return compressed * UNPACK_FACTOR_PERCENT // 100


__all__ = ["CATALOGUE", "PAUSE_IMAGE", "parse_reference", "resolve", "repo_name", "sha256", "short_name", "unpacked_size"]
