from django.urls import path, re_path

from .views import kube, pages
from .views.api import api, not_found
from .views.capture import router as capture_router
from .views.scenarios import router as scenarios_router

api.add_router("/scenarios", scenarios_router)
api.add_router("/clusters", capture_router)  # /clusters/<name>/screenshot.png and export.svg

urlpatterns = [
    path("", pages.index, name="index"),
    path("clusters/<str:name>/", pages.cluster_page, name="cluster"),
    path("favicon.ico", pages.favicon),
    path("api/", api.urls),
    re_path(r"^api/(?P<path>.*)$", not_found),
    path("k8s/<str:cluster>", kube.endpoint),
    path("k8s/<str:cluster>/", kube.endpoint),
    path("k8s/<str:cluster>/<path:rest>", kube.endpoint),
]
