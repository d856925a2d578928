from django.apps import AppConfig


class ContestConfig(AppConfig):
    name = "mlcontest.contest"
    label = "contest"
    verbose_name = "Contest"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from mlcontest.auth_cache import forget_changed_user

        user_model = self.get_model("User")
        post_save.connect(forget_changed_user, sender=user_model)
        post_delete.connect(forget_changed_user, sender=user_model)
