def library(request):
    """The library organisation of this host (None on the national pages)."""
    return {"library": getattr(request, "library", None)}
