from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contest", "0009_reveal_show"),
    ]

    # Existing rounds take no uploads and compute no diagnostics: an organizer switches each
    # on round by round.
    operations = [
        migrations.AddField(
            model_name="round",
            name="prediction_uploads",
            field=models.BooleanField(
                default=False,
                help_text="Groups may also upload predictions made anywhere (a CSV of id and "
                "label for the test and validation points), scored like any job "
                "(contest/uploads.py).",
            ),
        ),
        migrations.AddField(
            model_name="round",
            name="diagnostics",
            field=models.BooleanField(
                default=False,
                help_text="Workers also compute diagnostics on the training split: a "
                "cross-validation score beside the test score, learning and validation curves "
                "and more (worker/diagnostics.py); they cost refits, within the job's time "
                "limit.",
            ),
        ),
        migrations.AddField(
            model_name="job",
            name="diagnostics",
            field=models.JSONField(
                blank=True,
                null=True,
                help_text="The worker's diagnostics on the training split (cv_score, cv_std, "
                "cv_folds; silhouette): computed from training labels only, shown, never "
                "ranked.",
            ),
        ),
    ]
