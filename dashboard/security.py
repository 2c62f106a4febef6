"""Browser-facing protections that Django's own middleware does not give an API used by scripts
too (docs/security.md).

Cross-site writes. /api and /k8s are called by curl, kubectl and scripts, which send no cookies
and no Origin, so a CSRF token would only get in their way; what they must refuse is a write a
hostile page makes a visitor's browser send. Browsers name the page's origin on every
cross-origin write (Origin, and Sec-Fetch-Site), so an unsafe request whose Origin is another
site, or that a browser marks cross-site, is refused with 403 before any view runs. The page's
own fetches (static/js/api.js) come from the same origin and pass. Extra origins allowed to
write: settings.CSRF_TRUSTED_ORIGINS.

Content-Security-Policy on every response: scripts, styles, images and connections from this
origin only; no inline script (the pages load ES modules from /static and carry data in
json_script blocks, which are not executed), no plugins, no framing.
"""

import json
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, JsonResponse

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
GUARDED = ("/api/", "/k8s/")


def _same_site(request, origin: str) -> bool:
    if origin in getattr(settings, "CSRF_TRUSTED_ORIGINS", ()):
        return True
    try:
        host = request.get_host()
    except DisallowedHost:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == host


def cross_site_write(request) -> str | None:
    """Why this request is a cross-site write from a browser, or None."""
    if request.method in SAFE_METHODS or not request.path.startswith(GUARDED):
        return None
    origin = request.headers.get("Origin")
    if origin is not None:
        return None if _same_site(request, origin) else f"writes from another site ({origin[:100]}) are refused"
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return "writes from another site are refused"
    return None


def _refusal(request, reason: str) -> HttpResponse:
    if request.path.startswith("/k8s/"):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": f"forbidden: {reason}", "reason": "Forbidden", "code": 403}
        return HttpResponse(json.dumps(body), status=403, content_type="application/json")
    return JsonResponse({"error": reason, "field": "Origin"}, status=403)


class BrowserSecurityMiddleware:
    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        if not iscoroutinefunction(get_response):
            raise TypeError("BrowserSecurityMiddleware needs an async handler chain")
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        reason = cross_site_write(request)
        response = _refusal(request, reason) if reason else await self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
