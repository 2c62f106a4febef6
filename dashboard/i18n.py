"""The UI's language (issue 9, item 5; locale/README.md).

Django's LocaleMiddleware picks it from the `django_language` cookie (written by the language
switch through Django's set_language view) or the browser's Accept-Language. Two additions:
- `?lang=en|zh-Hans` in a page's address wins for that request and is not remembered: kiosk
  links and screenshots (static/js/kiosk.js, dashboard/capture) show the language they name;
- /api/ and /k8s/ always answer in English: scripts read them (REST errors, Kubernetes Status
  messages as Kubernetes writes them); the browser translates what it shows itself.
"""

from django.middleware.locale import LocaleMiddleware
from django.utils import translation

MACHINE_PATHS = ("/api/", "/k8s/")


def language_from_query(value: str | None) -> str | None:
    """A `?lang=` value as a Django language code ("en", "zh-hans"), or None when unknown."""
    if not value:
        return None
    try:
        return translation.get_supported_language_variant(value.strip().lower().replace("_", "-"))
    except LookupError:
        return None


def browser_code(django_code: str) -> str:
    """"zh-hans" → "zh-Hans" (how <html lang>, the lessons' `lang` and kiosk links write it)."""
    return "zh-Hans" if django_code.lower().startswith("zh") else "en"


class QueryLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if request.path.startswith(MACHINE_PATHS):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
            return
        super().process_request(request)
        chosen = language_from_query(request.GET.get("lang"))
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen


def language_context(request):
    """Template context: where the language switch returns to (this page without `?lang=`, which
    would otherwise override the choice just made)."""
    query = request.GET.copy()
    query.pop("lang", None)
    encoded = query.urlencode()
    return {"language_next": request.path + (f"?{encoded}" if encoded else "")}
