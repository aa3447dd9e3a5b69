from django.http import JsonResponse
from django.urls import path


def index(request):
    """The emulator's root: says what it is (the endpoints arrive with the mpapi/sandbox issue)."""
    return JsonResponse({"service": "Mercado Pago sandbox", "api": "emulated"})


urlpatterns = [path("", index, name="index")]
