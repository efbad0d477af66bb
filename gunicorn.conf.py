"""gunicorn's settings for LSB (read from the working folder by every gunicorn LSB
starts: ./lsbctl run, the Dockerfile and docker-compose).

The access log names the path without its query string and without the referring
page: query strings carry card numbers (?pas=) and other personal data, and the
log is kept outside the library's schema and its audit."""

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(L)s'
