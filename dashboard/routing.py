from django.urls import re_path

from .consumers import ClusterStreamConsumer

websocket_urlpatterns = [
    re_path(r"^ws/clusters/(?P<name>[^/]{1,63})/$", ClusterStreamConsumer.as_asgi()),
]
