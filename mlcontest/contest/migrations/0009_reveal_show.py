from django.db import migrations, models


class Migration(migrations.Migration):
    # After the last migration, not beside it: two leaves would stop `migrate`.
    dependencies = [
        ("contest", "0008_course"),
    ]

    # Existing rounds keep revealing everything at once (reveal_show is False for them).
    operations = [
        migrations.AddField(
            model_name="round",
            name="reveal_show",
            field=models.BooleanField(
                default=False,
                help_text="At the first close the organizer reveals the final ranking place by "
                "place on the projector (last place first); students see the places revealed so "
                "far and the validation scores once the show ends. Otherwise everything is "
                "revealed at once.",
            ),
        ),
        migrations.AddField(
            model_name="round",
            name="revealed_places",
            field=models.PositiveIntegerField(
                default=0,
                help_text="During the show: how many places, counted from the last, are out.",
            ),
        ),
        migrations.AddField(
            model_name="round",
            name="reveal_ended_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the organizer ended the show (everything out).",
                null=True,
            ),
        ),
    ]
