import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import mlcontest.contest.models


class Migration(migrations.Migration):
    # After the last migration, not beside it: two leaves would stop `migrate`.
    dependencies = [
        ("contest", "0007_announcement"),
    ]

    operations = [
        migrations.CreateModel(
            name="Course",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, unique=True)),
                ("description", models.TextField(blank=True)),
                (
                    "points",
                    models.JSONField(
                        default=mlcontest.contest.models.default_points,
                        help_text="Points per final rank: the first number for rank 1, the "
                        "second for rank 2, ...; a rank beyond the list earns 0.",
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={"ordering": ["name"]},
        ),
        # Existing rounds stay on their own (no course) and work as before.
        migrations.AddField(
            model_name="round",
            name="course",
            field=models.ForeignKey(
                blank=True,
                help_text="The course whose standings this round counts in (none: a round on "
                "its own).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="rounds",
                to="contest.course",
            ),
        ),
    ]
