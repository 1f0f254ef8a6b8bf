import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatshybrid.settings")
application = get_wsgi_application()

from whatshybrid import logredact  # noqa: E402  (after Django's logging setup)

logredact.install()
gc.freeze()  # as in asgi.py: startup objects stay out of every full collection
