"""Uploaded images: what is accepted, what is refused and what is stored."""
import io
import os
import struct
import zlib

import pytest
from PIL import Image

from storefront import media

ORIENTATION, MAKE = 0x0112, 0x010F


def encoded(image: Image.Image, image_format: str, **options) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    out.seek(0)
    return out


def stored_image(path: str) -> Image.Image:
    with media.storage().open(path) as stream:
        image = Image.open(io.BytesIO(stream.read()))
        image.load()
        return image


def png_declaring(width: int, height: int) -> io.BytesIO:
    """A tiny real PNG whose header claims ``width`` × ``height`` pixels (CRC fixed up)."""
    data = bytearray(encoded(Image.new("L", (1, 1)), "PNG").getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    return io.BytesIO(bytes(data))


def stored_files() -> list[str]:
    return [name for _, _, names in os.walk(media.storage().root) for name in names]


def test_a_jpeg_is_stored_upright_and_without_its_exif(app):
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # "rotate 90° clockwise to display"
    exif[MAKE] = "Spy Camera Inc."
    upload = encoded(Image.new("RGB", (400, 200), "navy"), "JPEG", exif=exif, comment=b"secret place")

    stored = media.store_image(upload, filename="holiday.jpg")

    assert (stored.width, stored.height) == (200, 400)
    assert stored.path.endswith(".jpg")
    image = stored_image(stored.path)
    assert image.format == "JPEG" and image.size == (200, 400)
    assert not image.getexif() and "exif" not in image.info and "comment" not in image.info
    with media.storage().open(stored.path) as stream:
        assert b"Spy Camera" not in stream.read()


def test_a_png_keeps_its_transparency(app):
    upload = encoded(Image.new("RGBA", (30, 20), (255, 0, 0, 0)), "PNG")
    stored = media.store_image(upload)
    image = stored_image(stored.path)
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (30, 20))
    assert image.getpixel((0, 0))[3] == 0


def test_a_webp_is_accepted(app):
    stored = media.store_image(encoded(Image.new("RGB", (50, 40), "green"), "WEBP"))
    assert stored.path.endswith(".webp") and (stored.width, stored.height) == (50, 40)


def test_an_animated_gif_is_stored_as_its_first_frame(app):
    frames = [Image.new("P", (16, 16), colour) for colour in (1, 2, 3)]
    upload = io.BytesIO()
    frames[0].save(upload, "GIF", save_all=True, append_images=frames[1:])
    upload.seek(0)
    stored = media.store_image(upload, filename="spinner.gif")
    assert stored.path.endswith(".png")
    assert stored_image(stored.path).size == (16, 16)


def test_the_same_picture_uploaded_twice_is_stored_once_under_the_same_key(app):
    picture = encoded(Image.new("RGB", (64, 64), "orange"), "PNG").getvalue()
    first = media.store_image(io.BytesIO(picture))
    second = media.store_image(io.BytesIO(picture))
    assert first == second
    assert len(first.path.split("/")[1].split(".")[0]) == 64  # a sha256


def test_a_text_file_named_like_a_jpeg_is_refused(app):
    with pytest.raises(media.MediaError) as refused:
        media.store_image(io.BytesIO(b"just some text, honestly\n" * 20), filename="photo.jpg")
    assert refused.value.message == "That file is not an image we accept (JPEG, PNG, WebP or GIF)."
    assert refused.value.status == 400


@pytest.mark.parametrize("image_format", ["BMP", "TIFF", "ICO"])
def test_images_in_other_formats_are_refused(app, image_format):
    with pytest.raises(media.MediaError, match="not an image we accept"):
        media.store_image(encoded(Image.new("RGB", (8, 8)), image_format))


def test_an_empty_or_truncated_upload_is_refused(app):
    whole = encoded(Image.new("RGB", (300, 300), "white"), "PNG").getvalue()
    for data in (b"", whole[: len(whole) // 2]):
        with pytest.raises(media.MediaError, match="not an image we accept"):
            media.store_image(io.BytesIO(data))


@pytest.mark.parametrize("app_config", [{"MEDIA_MAX_BYTES": 20_000}])
def test_a_file_larger_than_the_limit_is_refused_while_reading(app):
    class EndlessUpload(io.RawIOBase):
        """Far more data than allowed; the reader must stop soon after the limit."""

        served = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            self.served += len(buffer)
            buffer[:] = b"\xff" * len(buffer)
            return len(buffer)

    upload = EndlessUpload()
    with pytest.raises(media.MediaError, match=r"larger than the 0.019\d* MB we accept"):
        media.store_image(upload, filename="big.png")
    assert upload.served < 200_000


@pytest.mark.parametrize("width,height", [
    (8_000, 6_000),       # over our 40 MP limit, under Pillow's own
    (10_000, 10_000),     # past Pillow's warning threshold
    (100_000, 100_000),   # past Pillow's error threshold
])
def test_a_decompression_bomb_is_refused_from_its_header(app, width, height):
    with pytest.raises(media.MediaError) as refused:
        media.store_image(png_declaring(width, height), filename="bomb.png")
    assert "more than 40 megapixels" in refused.value.message
    assert stored_files() == []


@pytest.mark.parametrize("app_config", [{"MEDIA_MAX_PIXELS": 10_000}])
def test_the_pixel_limit_is_configurable(app):
    with pytest.raises(media.MediaError, match="more than 0.01 megapixels"):
        media.store_image(encoded(Image.new("RGB", (101, 100)), "PNG"))
    assert media.store_image(encoded(Image.new("RGB", (100, 100)), "PNG")).width == 100


def test_images_live_under_the_instance_media_folder_by_default(app):
    stored = media.store_image(encoded(Image.new("RGB", (10, 10)), "PNG"))
    storage = media.storage()
    assert isinstance(storage, media.LocalStorage)
    assert storage.path(stored.path).startswith(app.instance_path + "/media/")
