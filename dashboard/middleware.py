"""Static files without giving up async request handling.

WhiteNoise 6's middleware is sync-only. One sync-only middleware makes Django run every
request through its single sync thread, so the async views that wait on the simulation
(an etcd write awaiting commit, a kubectl watch) would queue behind each other instead
of being concurrent clients. This subclass keeps WhiteNoise's file lookup and headers and
is async: static files are served from a worker thread, everything else goes straight on.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        super().__init__(get_response)
        if not iscoroutinefunction(get_response):
            raise TypeError("AsyncWhiteNoiseMiddleware needs an async handler chain")
        markcoroutinefunction(self)

    async def __call__(self, request):
        static_file = self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        return await self.get_response(request)
