"""HTML pages: the cluster list, a cluster's dashboard, and a class's pages (audience, presenter, join)."""

from urllib.parse import urlencode

from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _

from cluster.commands import CommandError

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


def _classroom(code: str):
    from ..classroom import service  # the classroom's state lives in memory, loaded on first use

    try:
        return service.get(code)
    except CommandError:
        return None


def classroom_page(request, code: str, role: str = "audience"):
    """/c/<code> (the audience) and /c/<code>/present: the cluster page of the class's cluster
    with the classroom bar (static/js/render/classroom/); the keys stay in the browser."""
    c = _classroom(code)
    if c is None or registry.get(c.cluster) is None:
        raise Http404(f"no class with the code {code}")
    if code != c.code:
        return redirect("classroom-present" if role == "presenter" else "classroom", code=c.code)
    return render(request, "dashboard/cluster.html", {"name": c.cluster, "lesson_run": scenarios.live_run_of(c.cluster),
                                                      "classroom": {"code": c.code, "role": role}})


def join(request):
    """/join: type the code from the screen (any case, spaces or dashes are fine)."""
    typed = request.GET.get("code", "")
    code = "".join(ch for ch in typed.upper() if ch.isalnum())[:12]
    error = None
    if typed:
        if _classroom(code) is not None:
            name = request.GET.get("name", "").strip()[:40]
            target = reverse("classroom", kwargs={"code": code})
            return redirect(f"{target}?{urlencode({'name': name})}" if name else target)
        error = _("No class has the code %(code)s: check the code on the screen.") % {"code": code or typed[:12]}
    return render(request, "dashboard/join.html", {"code": typed[:12], "error": error}, )


def favicon(request):
    """Browsers ask for /favicon.ico before (or instead of) reading the page's icon link."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
