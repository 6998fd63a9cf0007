"""Thumbnails made by the job, and images served from /media with long cache lifetimes."""
import io
from pathlib import Path

import pytest
from PIL import Image

from storefront import media


def upload(width: int = 2400, height: int = 1600, colour: str = "teal") -> media.StoredImage:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG")
    out.seek(0)
    return media.store_image(out)


def thumbnail_size(path: str, size: str) -> tuple[int, int]:
    with media.storage().open(media.thumbnail_key(path, size)) as stream:
        image = Image.open(io.BytesIO(stream.read()))
        assert image.format == "WEBP"
        return image.size


class MemoryStorage:
    """An object store stand-in, selected through MEDIA_STORAGE."""

    def __init__(self):
        self.files: dict[str, bytes] = {}

    def save(self, key, data):
        self.files[key] = data if isinstance(data, bytes) else data.read()

    def open(self, key):
        if key not in self.files:
            raise FileNotFoundError(key)
        return io.BytesIO(self.files[key])

    def delete(self, key):
        self.files.pop(key, None)

    def url(self, key):
        return f"https://cdn.example.com/{key}"

    def exists(self, key):
        return key in self.files


def make_memory_storage(app):
    return MemoryStorage()


def test_thumbnails_are_made_at_upload_when_jobs_run_inline(app):
    stored = upload(2400, 1600)
    assert thumbnail_size(stored.path, "small") == (240, 160)
    assert thumbnail_size(stored.path, "medium") == (600, 400)
    assert thumbnail_size(stored.path, "large") == (1200, 800)


def test_thumbnails_never_upscale_a_small_image(app):
    stored = upload(300, 500)
    assert thumbnail_size(stored.path, "small") == (144, 240)
    assert thumbnail_size(stored.path, "medium") == (300, 500)
    assert thumbnail_size(stored.path, "large") == (300, 500)


def test_pages_show_the_original_until_the_queued_job_has_made_the_thumbnail(app, queued_jobs):
    stored = upload()
    with app.test_request_context():
        assert media.image_url(stored.path, "small") == f"/media/{stored.path}"
        queued_jobs()
        assert media.image_url(stored.path, "small") == f"/media/{media.thumbnail_key(stored.path, 'small')}"
        assert media.image_url(stored.path, "original") == f"/media/{stored.path}"
    assert thumbnail_size(stored.path, "medium") == (600, 400)


def test_the_thumbnail_job_is_idempotent(app):
    stored = upload()
    assert media.make_thumbnails(stored.path) == []  # made at upload (inline), nothing to redo
    media.storage().delete(media.thumbnail_key(stored.path, "large"))
    assert media.make_thumbnails(stored.path) == [media.thumbnail_key(stored.path, "large")]
    assert media.make_thumbnails("ab/" + "ab" * 32 + ".png") == []  # original gone: nothing to do


def test_image_url_is_a_template_global(app):
    stored = upload(100, 100)
    with app.test_request_context():
        rendered = app.jinja_env.from_string("{{ image_url(path, 'small') }}|{{ image_url(none) }}").render(
            path=stored.path)
    assert rendered == f"/media/{media.thumbnail_key(stored.path, 'small')}|"


def test_media_are_served_with_a_one_year_immutable_cache_lifetime(app, client):
    stored = upload(100, 80)
    response = client.get(f"/media/{stored.path}")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(response.data)).size == (100, 80)
    again = client.get(f"/media/{stored.path}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    thumbnail = client.get(f"/media/{media.thumbnail_key(stored.path, 'small')}")
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/webp"


@pytest.mark.parametrize("key", [
    "ab/" + "ab" * 32 + ".jpg",              # well-formed but never stored
    "../config.py",
    "ab/..%2f..%2fconfig.py",
    "%2e%2e/%2e%2e/etc/passwd",
    "ab/" + "ab" * 32 + ".jpg/../../storefront.db",
])
def test_missing_keys_and_path_traversal_answer_404(app, client, key):
    (Path(app.instance_path) / "config.py").write_text("SECRET_KEY = 'worth stealing'\n")
    assert client.get(f"/media/{key}").status_code == 404


def test_deleting_an_image_removes_its_thumbnails_too(app):
    stored = upload(500, 500)
    media.delete_image(stored.path)
    storage = media.storage()
    assert not storage.exists(stored.path)
    assert not any(storage.exists(media.thumbnail_key(stored.path, size)) for size in media.THUMBNAIL_SIZES)


@pytest.mark.parametrize("app_config", [{"MEDIA_STORAGE": f"{__name__}:make_memory_storage"}])
def test_a_plugin_storage_named_in_config_replaces_the_local_folder(app):
    stored = upload(700, 700)
    storage = media.storage()
    assert isinstance(storage, MemoryStorage)
    assert set(storage.files) == {stored.path} | {media.thumbnail_key(stored.path, s) for s in media.THUMBNAIL_SIZES}
    large = media.thumbnail_key(stored.path, "large")
    assert media.image_url(stored.path, "large") == f"https://cdn.example.com/{large}"
