"""The product's URLs plus ``POST /bench/bare/``: a Django view that reads the body and answers
200, served by the same gunicorn, behind the same middleware. For benchmarks only."""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from merchant_platform.urls import urlpatterns as product_urlpatterns


@csrf_exempt
@require_POST
def bare(request: HttpRequest) -> JsonResponse:
    """What the webhook view costs at the least: read the request, answer 200."""
    return JsonResponse({"status": "received", "id": len(request.body)})


urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *product_urlpatterns]
