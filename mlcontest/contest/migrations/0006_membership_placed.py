from django.db import migrations, models


class Migration(migrations.Migration):
    # After the last migration, not beside it: two leaves would stop `migrate`.
    dependencies = [
        ("contest", "0005_round_revealed_at"),
    ]

    operations = [
        # Existing memberships stay free to move: nobody can tell now which of them an
        # organizer made. A re-run of the roster marks its students.
        migrations.AddField(
            model_name="membership",
            name="placed_by_organizer",
            field=models.BooleanField(
                default=False,
                help_text="An organizer put the student here (roster, add-member, admin): the "
                "student cannot leave or switch by themselves; an organizer can still move them.",
            ),
        ),
    ]
