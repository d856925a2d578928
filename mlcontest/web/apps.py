from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "mlcontest.web"
    label = "web"
    verbose_name = "Web pages"
