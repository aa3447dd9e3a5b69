from django.urls import path

from orders import display

app_name = "display"

urlpatterns = [
    path("<str:token>/", display.display_page, name="page"),
    path("<str:token>/state.json", display.display_state_json, name="state"),
    path("<str:token>/events", display.display_events, name="events"),
    path("<str:token>/screen.html", display.display_screen, name="screen"),
    path("<str:token>/logo.png", display.display_logo, name="logo"),
]
