"""Uploaded images: validation, storage, thumbnails and the ``/media`` route.

An upload goes through :func:`store_image`, which

* reads at most ``MEDIA_MAX_BYTES`` while streaming (``Content-Length`` is not trusted);
* lets Pillow sniff the type from the bytes — never the filename or the client's content
  type — and accepts JPEG, PNG, WebP and GIF (its first frame, stored as PNG);
* refuses images whose *header* declares more than ``MEDIA_MAX_PIXELS`` before anything
  is decoded, which is what stops decompression bombs;
* applies the EXIF orientation and re-encodes without metadata (EXIF, XMP, comments —
  GPS positions and camera serials never reach the shop; the ICC colour profile stays);
* stores the cleaned bytes under a content-addressed key (sha256), so a re-upload of the
  same picture dedupes to the same file;
* enqueues :func:`make_thumbnails` (queue ``default``), which writes one WebP per
  :data:`THUMBNAIL_SIZES` entry next to the original.

Keys look like ``ab/<sha256>.jpg`` and thumbnails ``ab/<sha256>-medium.webp``. Because a
key's content never changes, ``/media/<key>`` is served with a one-year immutable
``Cache-Control``.

**Storage.** Files go through a :class:`MediaStorage` (save, open, delete, url, exists).
The default :class:`LocalStorage` keeps them under ``MEDIA_ROOT`` (``instance/media``).
An object-store plugin replaces it by setting ``MEDIA_STORAGE`` to the import path of a
factory, ``"package.module:make_storage"``, called once with the app and returning a
``MediaStorage``; its ``url()`` may then point straight at the object store or a CDN.
"""
from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import re
import struct
import tempfile
import warnings
from dataclasses import dataclass
from typing import BinaryIO, Callable, Protocol, runtime_checkable

from flask import Blueprint, Flask, abort, current_app, send_file, url_for
from PIL import Image
from werkzeug.security import safe_join

from .errors import InvalidInput
from .extensions import limiter

EXTENSION_KEY = "storefront.media"

#: Thumbnail name → longest side in pixels. Thumbnails never upscale.
THUMBNAIL_SIZES = {"small": 240, "medium": 600, "large": 1200}

NOT_AN_IMAGE = "That file is not an image we accept (JPEG, PNG, WebP or GIF)."

#: Pillow's format name → (format we store, file extension). A GIF keeps its first frame
#: as a still PNG; MPO is the multi-picture JPEG some cameras write.
STORED_FORMATS = {
    "JPEG": ("JPEG", ".jpg"),
    "MPO": ("JPEG", ".jpg"),
    "PNG": ("PNG", ".png"),
    "WEBP": ("WEBP", ".webp"),
    "GIF": ("PNG", ".png"),
}
#: Only these Pillow plugins may even try to identify an upload.
SNIFFED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")

THUMBNAIL_FORMAT, THUMBNAIL_EXTENSION = "WEBP", ".webp"

EXIF_ORIENTATION = 0x0112
#: EXIF orientation value → the transpose that makes the picture upright.
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

#: Keys this module writes; anything else is refused by the route (no traversal possible).
KEY_PATTERN = re.compile(
    r"^[0-9a-f]{2}/[0-9a-f]{64}(?:-(?:%s))?\.(?:jpg|png|webp)$" % "|".join(THUMBNAIL_SIZES)
)

#: One year: keys are content-addressed, so the bytes behind a URL never change.
CACHE_CONTROL = "public, max-age=31536000, immutable"

READ_CHUNK = 64 * 1024


class MediaError(InvalidInput):
    """That upload cannot be used as an image."""

    code = "invalid_image"


@dataclass(frozen=True)
class StoredImage:
    """An image kept by the storage: its key (``path``) and pixel size after orientation."""

    path: str
    width: int
    height: int


@dataclass(frozen=True)
class PreparedImage:
    """A validated, cleaned image not stored yet (see :func:`prepare_image`)."""

    data: bytes
    key: str
    width: int
    height: int


# --- storage ---------------------------------------------------------------------------------


@runtime_checkable
class MediaStorage(Protocol):
    """Where media files live. Keys are relative, slash-separated paths."""

    def save(self, key: str, data: bytes | BinaryIO) -> None:
        """Write ``data`` under ``key``, replacing what was there; readers never see half a file."""

    def open(self, key: str) -> BinaryIO:
        """A binary stream of the file; raises ``FileNotFoundError`` when it does not exist."""

    def delete(self, key: str) -> None:
        """Remove the file; a missing key is not an error."""

    def url(self, key: str) -> str:
        """The URL a browser fetches the file from."""

    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``. :func:`image_url` asks this for every
        image it renders, so a remote storage should answer from a cache."""


class LocalStorage:
    """Files in a folder on local (or shared, for several web nodes) disk, served by the
    ``/media`` route."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def path(self, key: str) -> str:
        """The file's path; ``FileNotFoundError`` for keys escaping the root."""
        joined = safe_join(self.root, key)
        if joined is None:
            raise FileNotFoundError(key)
        return joined

    def save(self, key: str, data: bytes | BinaryIO) -> None:
        target = self.path(key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # Write beside the target and rename: a concurrent reader sees the old file or
        # the whole new one, never a partial write.
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                if isinstance(data, (bytes, bytearray)):
                    out.write(data)
                else:
                    while chunk := data.read(READ_CHUNK):
                        out.write(chunk)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def delete(self, key: str) -> None:
        try:
            os.remove(self.path(key))
        except FileNotFoundError:
            pass

    def url(self, key: str) -> str:
        return url_for("media.serve", key=key)

    def exists(self, key: str) -> bool:
        try:
            return os.path.isfile(self.path(key))
        except FileNotFoundError:
            return False


def storage() -> MediaStorage:
    """The app's media storage (chosen by ``MEDIA_STORAGE``)."""
    return current_app.extensions[EXTENSION_KEY]


def make_storage(app: Flask) -> MediaStorage:
    """Build the storage named by ``MEDIA_STORAGE``, or a :class:`LocalStorage` at ``MEDIA_ROOT``."""
    factory_path = app.config.get("MEDIA_STORAGE")
    if factory_path:
        from .jobs import resolve

        factory: Callable[[Flask], MediaStorage] = resolve(factory_path)
        made = factory(app)
        if not isinstance(made, MediaStorage):
            raise TypeError(f"MEDIA_STORAGE {factory_path!r} did not return a MediaStorage")
        return made
    root = app.config.get("MEDIA_ROOT") or "media"
    return LocalStorage(os.path.join(app.instance_path, root))  # an absolute root wins in join


# --- validation and storing --------------------------------------------------------------------


def store_image(stream: BinaryIO, *, filename: str = "") -> StoredImage:
    """Validate, clean and store an uploaded image; enqueue its thumbnails.

    Raises :class:`MediaError` (a 400 with a message for the user) for anything that is not
    an acceptable image. Storing the same picture twice returns the same key.
    """
    return save_prepared(prepare_image(stream, filename=filename))


def prepare_image(stream: BinaryIO, *, filename: str = "") -> PreparedImage:
    """Everything :func:`store_image` checks and cleans, without storing anything.

    Lets a form validate all of its uploads before it writes any of them. ``filename`` is
    only used in messages: the type comes from the bytes.
    """
    config = current_app.config
    data = _read_limited(stream, int(config["MEDIA_MAX_BYTES"]), filename)
    max_pixels = int(config["MEDIA_MAX_PIXELS"])
    with warnings.catch_warnings():
        # Pillow warns about damaged metadata, which we drop anyway. It also warns (and past
        # twice its own limit raises) about huge declared sizes: that warning becomes an
        # error, so it reads as the clear refusal below rather than a log line. Safety does
        # not rest on this process-wide filter: the declared size is checked again below.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=SNIFFED_FORMATS)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise MediaError(_too_many_pixels_message(max_pixels)) from None
        except (OSError, SyntaxError, ValueError):  # UnidentifiedImageError is an OSError
            raise MediaError(NOT_AN_IMAGE) from None
        with image:
            if image.format not in STORED_FORMATS:
                raise MediaError(NOT_AN_IMAGE)
            width, height = image.size
            # Only the header has been read so far: refuse before decoding.
            if width * height > max_pixels:
                raise MediaError(_too_many_pixels_message(max_pixels))
            stored_format, extension = STORED_FORMATS[image.format]
            try:
                cleaned = _without_metadata(_upright(image))
                data = _encode(cleaned, stored_format)
            except (OSError, SyntaxError, ValueError, EOFError, struct.error):
                # Truncated or corrupt pixel data behind a valid header.
                raise MediaError(NOT_AN_IMAGE) from None
    digest = hashlib.sha256(data).hexdigest()
    return PreparedImage(data=data, key=f"{digest[:2]}/{digest}{extension}",
                         width=cleaned.width, height=cleaned.height)


def save_prepared(prepared: PreparedImage) -> StoredImage:
    """Store a :class:`PreparedImage` (unless the same bytes are already stored) and
    enqueue its thumbnails."""
    from . import jobs

    media = storage()
    if not media.exists(prepared.key):
        media.save(prepared.key, prepared.data)
    jobs.enqueue(make_thumbnails, prepared.key, queue="default",
                 job_id="media-thumbnails-" + _digest(prepared.key))
    return StoredImage(path=prepared.key, width=prepared.width, height=prepared.height)


def _read_limited(stream: BinaryIO, max_bytes: int, filename: str) -> bytes:
    chunks, total = [], 0
    while chunk := stream.read(READ_CHUNK):
        total += len(chunk)
        if total > max_bytes:
            name = f"{filename} is" if filename else "That file is"
            raise MediaError(f"{name} larger than the {_megabytes(max_bytes)} we accept for an image.")
        chunks.append(chunk)
    if not total:
        raise MediaError(NOT_AN_IMAGE)
    return b"".join(chunks)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _too_many_pixels_message(max_pixels: int) -> str:
    megapixels = f"{max_pixels / 1_000_000:g}"
    return (f"That image declares more than {megapixels} megapixels, which we refuse "
            f"(very large or deliberately malformed images can exhaust the server). "
            f"Please upload a smaller image.")


def _upright(image: Image.Image) -> Image.Image:
    """The decoded image turned as its EXIF orientation says (a phone photo taken sideways
    is stored sideways with an orientation tag). Unlike ``ImageOps.exif_transpose`` this
    never re-serialises the EXIF block, which fails on damaged metadata we drop anyway."""
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    image.load()
    method = ORIENTATION_TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(method) if method is not None else image


def _without_metadata(image: Image.Image) -> Image.Image:
    """A copy in a mode every output format takes, carrying no metadata but its ICC profile."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if image.mode not in ("RGB", "L", "RGBA"):
        image = image.convert("RGBA" if has_alpha else "RGB")
    else:
        image = image.copy()
    icc_profile = image.info.get("icc_profile")
    image.info.clear()  # exif, xmp, comments, text chunks: none of them are re-encoded
    if icc_profile:
        image.info["icc_profile"] = icc_profile
    return image


def _encode(image: Image.Image, image_format: str, *, quality: int = 90) -> bytes:
    out = io.BytesIO()
    options: dict = {"icc_profile": image.info.get("icc_profile")} if image.info.get("icc_profile") else {}
    if image_format == "JPEG":
        if image.mode == "RGBA":
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=quality, optimize=True, **options)
    elif image_format == "WEBP":
        image.save(out, "WEBP", quality=quality, method=4, **options)
    else:
        image.save(out, "PNG", **options)
    return out.getvalue()


def _digest(key: str) -> str:
    return os.path.basename(key).split(".")[0].split("-")[0]


# --- thumbnails --------------------------------------------------------------------------------


def thumbnail_key(path: str, size: str) -> str:
    """The key of ``path``'s thumbnail ``size`` (deterministic, beside the original)."""
    if size not in THUMBNAIL_SIZES:
        raise ValueError(f"unknown thumbnail size {size!r}; use one of {', '.join(THUMBNAIL_SIZES)}")
    stem, _ = os.path.splitext(path)
    return f"{stem}-{size}{THUMBNAIL_EXTENSION}"


def make_thumbnails(path: str) -> list[str]:
    """Job: write every missing thumbnail of the original ``path``; returns the keys written.

    Idempotent: thumbnails that exist are skipped, so retries and re-uploads cost nothing.
    A missing original (deleted meanwhile) writes nothing.
    """
    media = storage()
    missing = {size: thumbnail_key(path, size) for size in THUMBNAIL_SIZES}
    missing = {size: key for size, key in missing.items() if not media.exists(key)}
    if not missing:
        return []
    try:
        original = media.open(path)
    except FileNotFoundError:
        return []
    written = []
    with original, Image.open(original, formats=("JPEG", "PNG", "WEBP")) as image:
        image.load()
        for size, key in missing.items():
            longest = THUMBNAIL_SIZES[size]
            thumbnail = image.copy()
            thumbnail.thumbnail((longest, longest), Image.Resampling.LANCZOS)  # shrinks only
            media.save(key, _encode(thumbnail, THUMBNAIL_FORMAT, quality=82))
            written.append(key)
    return written


def image_url(path: str | None, size: str = "medium") -> str:
    """URL of ``path``'s thumbnail ``size`` (``"original"`` for the original itself); the
    original's URL until the thumbnail job has run. Empty for no image."""
    if not path:
        return ""
    media = storage()
    if size != "original":
        key = thumbnail_key(path, size)
        if media.exists(key):
            return media.url(key)
    return media.url(path)


def delete_image(path: str) -> None:
    """Remove an original and its thumbnails.

    Keys are content-addressed, so two records that uploaded the same picture share one
    key: callers delete only once nothing references ``path`` any more.
    """
    media = storage()
    for size in THUMBNAIL_SIZES:
        media.delete(thumbnail_key(path, size))
    media.delete(path)


# --- serving ---------------------------------------------------------------------------------

bp = Blueprint("media", __name__, url_prefix="/media")


@bp.get("/<path:key>", endpoint="serve")
@limiter.exempt  # immutable files a page requests by the dozen; a proxy usually caches them
def serve(key: str):
    """A stored file with a one-year immutable Cache-Control; 404 for anything else."""
    if not KEY_PATTERN.match(key):
        abort(404)
    try:
        # Read whole (images are at most MEDIA_MAX_BYTES): the file is closed before the
        # response leaves, whatever the server does with a 304 or an aborted download.
        with storage().open(key) as stream:
            data = stream.read()
    except FileNotFoundError:
        abort(404)
    mimetype = mimetypes.guess_type(key)[0] or "application/octet-stream"
    response = send_file(io.BytesIO(data), mimetype=mimetype, etag=os.path.basename(key),
                         conditional=True, max_age=31536000)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def init_app(app: Flask) -> None:
    """Choose the storage, register ``/media`` and the ``image_url`` template global."""
    app.extensions[EXTENSION_KEY] = make_storage(app)
    app.register_blueprint(bp)
    app.add_template_global(image_url, "image_url")


__all__ = ["THUMBNAIL_SIZES", "MediaError", "MediaStorage", "LocalStorage", "StoredImage", "PreparedImage",
           "store_image", "prepare_image", "save_prepared", "make_thumbnails", "thumbnail_key", "image_url",
           "delete_image", "storage", "init_app"]
