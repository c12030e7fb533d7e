"""/healthz and /readyz for Heroku, load balancers and uptime monitors (README "Health checks")."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from prompts.services import health


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. Touches no database, cache or storage."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: 200 when every check passed within its budget, else 503 (JSON either way)."""
    results = health.readiness()
    ready = all(result.ok for result in results)
    return JsonResponse(
        {
            "status": "ok" if ready else "fail",
            "checks": {result.name: result.as_dict() for result in results},
        },
        status=200 if ready else 503,
    )
