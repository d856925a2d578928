from django.db import migrations, models


class Migration(migrations.Migration):
    # After the last migration, not beside it: two leaves would stop `migrate`.
    dependencies = [
        ("contest", "0004_login_attempt"),
    ]

    operations = [
        migrations.AddField(
            model_name="round",
            name="revealed_at",
            field=models.DateTimeField(
                blank=True,
                help_text="The first close: the final ranking counts the jobs submitted before "
                "it and the final choices as they stood then. Set once, never changed.",
                null=True,
            ),
        ),
    ]
