import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lsb.settings")
application = get_wsgi_application()

# Refuse to serve when the server does not run statements with LSB's search path.
from tenants.pooling import check_at_startup  # noqa: E402

check_at_startup("web")
