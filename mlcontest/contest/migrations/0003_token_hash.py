"""API tokens keep only the sha256 of their key, plus its first characters for display.

Existing tokens keep working: their keys are hashed here, then the plain keys are dropped."""

import hashlib

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

PREFIX_LENGTH = 8


def hash_existing_keys(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    ApiToken = apps.get_model("contest", "ApiToken")
    for token in ApiToken.objects.all().only("pk", "key"):
        ApiToken.objects.filter(pk=token.pk).update(
            key_hash=hashlib.sha256(token.key.encode("utf-8")).hexdigest(),
            prefix=token.key[:PREFIX_LENGTH],
        )


class Migration(migrations.Migration):
    # 0002_leaderboard_index, not 0001_initial: two migrations after 0001 would be two leaf
    # nodes, and `migrate` refuses to run with those.
    dependencies = [
        ("contest", "0002_leaderboard_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="key_hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="prefix",
            field=models.CharField(blank=True, default="", max_length=PREFIX_LENGTH),
            preserve_default=False,
        ),
        migrations.RunPython(hash_existing_keys, migrations.RunPython.noop),
        migrations.RemoveField(model_name="apitoken", name="key"),
        migrations.AlterField(
            model_name="apitoken",
            name="key_hash",
            field=models.CharField(max_length=64, unique=True),
        ),
    ]
