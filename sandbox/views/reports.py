"""Mercado Pago's account reports (``/v1/account/settlement_report``, ``…/release_report``) and
the control endpoint that generates the reports due (``POST /sandbox/_control/reports/run``)."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox import reports
from sandbox.http import InvalidJSON, json_body, legacy_error
from sandbox.models import Token
from sandbox.views.common import Family, endpoint


def _get_config(request: HttpRequest, token: Token, report: str) -> JsonResponse:
    return JsonResponse(reports.config_of(token.account, reports.report_type_of(report)))


def _create_config(request: HttpRequest, token: Token, report: str) -> JsonResponse:
    kind = reports.report_type_of(report)
    return JsonResponse(reports.create_config(token.account, kind, json_body(request)), status=201)


def _update_config(request: HttpRequest, token: Token, report: str) -> JsonResponse:
    kind = reports.report_type_of(report)
    return JsonResponse(reports.update_config(token.account, kind, json_body(request)))


def _generate(request: HttpRequest, token: Token, report: str) -> JsonResponse:
    kind = reports.report_type_of(report)
    try:
        created = reports.generate(token.account, kind, json_body(request))
    except reports.NotCreated as refused:
        return JsonResponse(refused.body, status=203)
    return JsonResponse(reports.render_report(created), status=202)


def _list(request: HttpRequest, token: Token, report: str) -> JsonResponse:
    found = reports.listed(token.account, reports.report_type_of(report))
    return JsonResponse([reports.render_report(row) for row in found], safe=False)


def _download(request: HttpRequest, token: Token, report: str, file_name: str) -> HttpResponse:
    found = reports.download(token.account, reports.report_type_of(report), file_name)
    response = HttpResponse(found.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.file_name}"'
    return response


def _schedule(request: HttpRequest, token: Token, report: str) -> JsonResponse:
    scheduled = reports.schedule(token.account, reports.report_type_of(report))
    return JsonResponse(reports.render_report(scheduled))


def _unschedule(request: HttpRequest, token: Token, report: str) -> JsonResponse:
    deleted = reports.unschedule(token.account, reports.report_type_of(report))
    return JsonResponse(reports.render_report(deleted))


config = endpoint(Family.LEGACY, GET=_get_config, POST=_create_config, PUT=_update_config)
generate = endpoint(Family.LEGACY, POST=_generate)
report_list = endpoint(Family.LEGACY, GET=_list)
report_file = endpoint(Family.LEGACY, GET=_download)
schedule = endpoint(Family.LEGACY, POST=_schedule, DELETE=_unschedule)


@csrf_exempt
@require_POST
def run(request: HttpRequest) -> JsonResponse:
    """Generate the reports due now, or at ``{"now": "<ISO 8601>"}`` (to run past a schedule)."""
    try:
        body = json_body(request)
    except InvalidJSON as error:
        return legacy_error(400, "bad_request", str(error))
    now = parse_datetime(body["now"]) if isinstance(body.get("now"), str) else None
    if "now" in body and (now is None or now.tzinfo is None):
        return legacy_error(400, "bad_request", "now: an ISO 8601 date-time with a time zone")
    done = reports.process_due(now)
    return JsonResponse({"generated": [reports.render_report(report) for report in done]})
