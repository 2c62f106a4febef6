from django.urls import include, path, re_path
from django.views.i18n import JSONCatalog

from .views import kube, pages
from .views.api import api, not_found
from .views.capture import router as capture_router
from .views.classrooms import router as classrooms_router
from .views.kubeconfig import router as kubeconfig_router
from .views.scenarios import router as scenarios_router

api.add_router("/scenarios", scenarios_router)
api.add_router("/classrooms", classrooms_router)
api.add_router("", kubeconfig_router)  # /tls/ca.pem and /classrooms/<code>/kubeconfig
api.add_router("/clusters", capture_router)  # /clusters/<name>/screenshot.png and export.svg

urlpatterns = [
    path("", pages.index, name="index"),
    path("clusters/<str:name>/", pages.cluster_page, name="cluster"),
    path("c/<str:code>", pages.classroom_page, name="classroom"),
    path("c/<str:code>/present", pages.classroom_page, {"role": "presenter"}, name="classroom-present"),
    path("join", pages.join, name="join"),
    path("favicon.ico", pages.favicon),
    path("jsi18n/", JSONCatalog.as_view(), name="jsi18n"),  # the browser's catalogue (static/js/i18n.js)
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's language switch
    path("api/", api.urls),
    re_path(r"^api/(?P<path>.*)$", not_found),
    path("k8s/<str:cluster>", kube.endpoint),
    path("k8s/<str:cluster>/", kube.endpoint),
    path("k8s/<str:cluster>/<path:rest>", kube.endpoint),
]
