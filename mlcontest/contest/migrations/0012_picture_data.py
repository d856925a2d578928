"""Pictures' bytes in the database (PictureData): several server machines share no disk.

The files already in MEDIA_ROOT on the machine that runs this migration are copied in; a file
it does not find (another machine's) stays readable where it is (contest/pictures.py)."""

from django.core.files.storage import default_storage
from django.db import migrations, models
import django.db.models.deletion


def copy_files_in(apps, schema_editor):
    JobPicture = apps.get_model("contest", "JobPicture")
    PictureData = apps.get_model("contest", "PictureData")
    for picture in JobPicture.objects.all().iterator():
        try:
            with default_storage.open(picture.image.name, "rb") as stored:
                data = stored.read()
        except (OSError, ValueError):
            continue
        PictureData.objects.get_or_create(picture_id=picture.pk, defaults={"data": data})


class Migration(migrations.Migration):
    dependencies = [
        ("contest", "0011_columnar_datasets"),
    ]

    operations = [
        migrations.CreateModel(
            name="PictureData",
            fields=[
                (
                    "picture",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="stored",
                        serialize=False,
                        to="contest.jobpicture",
                    ),
                ),
                ("data", models.BinaryField()),
            ],
        ),
        migrations.RunPython(copy_files_in, migrations.RunPython.noop),
    ]
