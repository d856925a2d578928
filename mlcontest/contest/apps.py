from django.apps import AppConfig


class ContestConfig(AppConfig):
    name = "mlcontest.contest"
    label = "contest"
    verbose_name = "Contest"
    default_auto_field = "django.db.models.BigAutoField"
