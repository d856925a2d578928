"""A job's pictures: the images a worker posts after the result, checked to be real PNG or JPEG
images of a bounded size, kept once per file name.

The bytes are kept in the database (``PictureData``), not in ``MEDIA_ROOT``: with several server
machines a picture posted through one is served by every other, with no shared disk. The
picture's ``image`` keeps only its name (``jobs/<job>/<file>``), which makes its URL; a picture
stored before (no ``PictureData``) is read from its file, where the machine has it."""

from __future__ import annotations

import base64
import io
from pathlib import PureWindowsPath
from typing import Any

from django.conf import settings
from django.db import transaction

from mlcontest.contest.errors import Conflict, InvalidInput
from mlcontest.contest.models import Job, JobPicture, JobState, PictureData, User, picture_path
from mlcontest.contest.permissions import require_worker

IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def picture_type(data: bytes) -> str:
    """The image's content type, or ValueError: only real PNG and JPEG images are kept."""
    content_type = next(
        (kind for magic, kind in IMAGE_TYPES.items() if data.startswith(magic)), None
    )
    if content_type is None:
        raise ValueError("is not a PNG or JPEG image")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:  # Pillow raises many kinds for a broken file
        raise ValueError("is a broken image") from None
    return content_type


def clean_filename(filename: str) -> str:
    """Only the base name of a client-side path, Windows or POSIX."""
    name = PureWindowsPath(str(filename)).name.strip()
    name = "".join(char for char in name if char.isalnum() or char in "._- ")[:100]
    if not name or name.startswith("."):
        raise ValueError("needs a file name")
    return name


def add_picture(worker: User, job: Job, worker_key: str, filename: Any, data: Any) -> JobPicture:
    """Attach an image to a job this worker ran (pictures come after the result)."""
    require_worker(worker)
    if job.worker_key != worker_key or job.state == JobState.QUEUED:
        raise Conflict(f"Job {job.pk} was not run by this worker.", code="not_holder")
    errors: dict[str, str] = {}
    try:
        name = clean_filename(filename or "")
    except ValueError as error:
        errors["filename"] = str(error)
    try:
        image = base64.b64decode(str(data or "").strip(), validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII character such as "²"
        errors["data"] = "is not valid base64"
    else:
        try:
            content_type = _check_image(image)
        except ValueError as error:
            errors["data"] = str(error)
    if errors:
        raise InvalidInput("The picture is not valid.", fields=errors)
    with transaction.atomic():
        picture = JobPicture.objects.filter(job=job, filename=name).first()
        if picture is not None:
            if picture_bytes(picture) == image:
                return picture  # the same picture posted again
        else:
            picture = JobPicture(job=job, filename=name)
        picture.content_type = content_type
        picture.image.name = picture_path(picture, name)
        picture.save()
        PictureData.objects.update_or_create(picture=picture, defaults={"data": image})
    return picture


def _check_image(image: bytes) -> str:
    if not image:
        raise ValueError("is empty")
    if len(image) > settings.MAX_PICTURE_BYTES:
        raise ValueError(f"is larger than {settings.MAX_PICTURE_BYTES} bytes")
    return picture_type(image)


def picture_bytes(picture: JobPicture) -> bytes | None:
    """The picture's image: from the database, else (stored before pictures moved there) from
    its file; None when neither has it."""
    stored = PictureData.objects.filter(picture=picture).values_list("data", flat=True).first()
    if stored is not None:
        return bytes(stored)  # PostgreSQL answers a memoryview
    try:
        with picture.image.open("rb") as legacy:
            return bytes(legacy.read())
    except (OSError, ValueError):  # no file, or (ValueError) no name
        return None
