from django.shortcuts import render

from .selectors import branches_of, opening_week, registry_overview


def national_home(request):
    """The national entry page: every active library organisation, by province."""
    port = request.get_port()
    return render(
        request,
        "tenants/national_home.html",
        {
            "provinces": registry_overview(),
            "scheme": request.scheme,
            "port_suffix": "" if port in ("80", "443") else f":{port}",
        },
    )


def library_home(request):
    """A library's public page: its branches with addresses and opening hours."""
    branches = [(branch, opening_week(branch)) for branch in branches_of(request.library)]
    return render(request, "tenants/library_home.html", {"branches": branches})
