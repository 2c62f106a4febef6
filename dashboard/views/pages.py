"""HTML pages: the cluster list and a cluster's dashboard."""

from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static

from .. import scenarios
from ..runner import registry


def index(request):
    registry.ensure_demo()
    return render(request, "dashboard/index.html", {"clusters": sorted(registry.handles)})


def cluster_page(request, name: str):
    registry.ensure_demo()
    if registry.get(name) is None:
        raise Http404(f"no cluster named {name}")
    # a cluster a live lesson runs on: the page shows the lesson's narration (read-only unless
    # the presenter's ?lesson=&run= is in the address)
    return render(request, "dashboard/cluster.html", {"name": name, "lesson_run": scenarios.live_run_of(name)})


def favicon(request):
    """Browsers ask for /favicon.ico before (or instead of) reading the page's icon link."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
